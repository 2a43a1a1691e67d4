"""Honest health: a store that has lost what the catalogue says it holds is a failure in
``storage check``, never "does not exist yet"."""

from __future__ import annotations

import shutil

from preserve.jobs.worker import drain
from preserve.storage.check import check_profile
from preserve.storage.repository import verified_counts
from storage.replication_support import push


def _check(rt):
    with rt.sessions.begin() as session:
        held = verified_counts(session)
    profile = rt.profile()
    return check_profile(profile, lambda name: rt.store(profile.name, name), held)


def test_a_fresh_store_without_a_root_is_fine(rt):
    result = _check(rt)
    assert result.ok, result.to_dict()


def test_a_vanished_root_that_held_replicas_fails_the_check(rt, client, make_token, tmp_path):
    push(client, make_token(), {"a.txt": b"kept\n"})
    drain(rt)
    assert _check(rt).ok

    shutil.rmtree(tmp_path / "stores" / "site-a-disk")
    result = _check(rt)

    assert not result.ok
    failed = {t.target: t.problems for t in result.targets if not t.ok}
    assert list(failed) == ["site-a-disk"]
    assert "lost its objects" in failed["site-a-disk"][0]
    assert not result.policy_met_by_healthy_targets


def test_an_emptied_store_that_held_replicas_fails_the_check(rt, client, make_token, tmp_path):
    push(client, make_token(), {"a.txt": b"kept\n"})
    drain(rt)
    shutil.rmtree(tmp_path / "stores" / "site-b-nas" / "aips")

    failed = [t.target for t in _check(rt).targets if not t.ok]
    assert failed == ["site-b-nas"]
