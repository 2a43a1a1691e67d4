"""Honest health: a store that has lost what the catalogue says it holds is a failure in
``storage check``, never "does not exist yet"."""

from __future__ import annotations

import shutil

from preserve.catalog.models import Alert, Replica, ReplicaState
from preserve.jobs.scheduler import tick
from preserve.jobs.worker import drain
from preserve.storage.check import check_profile
from preserve.storage.repository import proven_counts, verified_counts
from storage.replication_support import push, sip_state
from support.cli import preserve


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


def test_a_vanished_target_is_an_alert_a_metric_and_fails_check_and_status(
    rt, settings, client, make_token, tmp_path
):
    """Issue 11, item 1: the scheduler's look at the stores finds the deleted root, fails its
    replicas (the SIP is AT_RISK: the profile needs both copies), raises one critical alert
    and counts it in /metrics; ``storage check`` and ``storage status`` exit 1 naming it."""
    sip_id = push(client, make_token(), {"a.txt": b"kept\n"})
    drain(rt)
    assert sip_state(rt, sip_id)[0] == "PRESERVED"
    assert preserve(settings, "storage", "status").returncode == 0
    assert 'preserve_store_vanished_total{target="site-a-disk"} 0' in client.get("/metrics").text

    shutil.rmtree(tmp_path / "stores" / "site-a-disk")
    tick(rt, force=True)
    tick(rt, force=True)  # a second look raises no second alert

    with rt.sessions() as session:
        alerts = session.query(Alert).filter_by(kind="store-vanished").all()
        assert [(a.severity, a.target) for a in alerts] == [("critical", "site-a-disk")]
        states = {r.target: r.state for r in session.query(Replica)}
        assert states["site-a-disk"] == ReplicaState.FAILED
    assert sip_state(rt, sip_id)[0] == "AT_RISK"
    metrics = client.get("/metrics").text
    assert 'preserve_store_vanished_total{target="site-a-disk"} 1' in metrics
    assert "preserve_aips_at_risk 1" in metrics
    with rt.sessions.begin() as session:
        assert proven_counts(session)["site-a-disk"] == 1  # still failing the check

    for command in ("check", "status"):
        done = preserve(settings, "storage", command)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "site-a-disk" in done.stdout and "lost its objects" in done.stdout
