"""Debris reclaimed (issue 11, item 6): what a killed worker leaves in a filesystem store
(``.preserve-tmp-*``) and a killed receiver leaves in staging (a directory with no SIP row) is
removed by ``storage reconcile`` and by the sweep at start-up / hourly, once past the age;
younger debris (a writer or a receive still at work) is left alone."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from preserve.aip.layout import aip_prefix
from preserve.cli.storage import reconcile
from preserve.jobs.scheduler import tick
from preserve.jobs.worker import drain
from storage.replication_support import push, sip_state

OLD = time.time() - 3 * 24 * 3600


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def leave_debris(rt, settings, aip_id: str, *, old: bool = True) -> list[Path]:
    """What SIGKILL leaves: a temporary object beside a stored one, half an AIP's temporary
    object under a prefix of its own, and a staging directory of a request never answered."""
    root = Path(rt.profile().target("site-a-disk").root)
    beside = root / aip_prefix(aip_id) / "data" / f".preserve-tmp-{uuid.uuid4().hex[:8]}"
    other = root / aip_prefix(str(uuid.uuid4())) / "data" / ".preserve-tmp-half"
    staging = settings.staging_dir / str(uuid.uuid4()) / "incoming"
    for path, size in ((beside, 4096), (other, 1000), (staging / "part-1", 2048)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    left = [beside, other, staging / "part-1", staging, staging.parent]
    if old:
        for path in left:
            os.utime(path, (OLD, OLD))
    return left


def test_reconcile_removes_what_killed_writers_left_and_only_that(rt, settings, client, make_token):
    sip_id = push(client, make_token(), {"a.txt": b"kept\n"})
    drain(rt)
    state, aip_id = sip_state(rt, sip_id)
    assert state == "PRESERVED"
    root = Path(rt.profile().target("site-a-disk").root)
    aips_before = files_under(root)
    staging_before = sorted(p.name for p in settings.staging_dir.iterdir())
    left = leave_debris(rt, settings, aip_id)

    dry = reconcile(rt, "site-a-disk", dry_run=True)
    assert len(dry.temporary_objects) == 2 and len(dry.unacknowledged_staging) == 1
    assert all(p.exists() for p in left)

    report = reconcile(rt, "site-a-disk")

    assert sorted(report.temporary_objects) == sorted(
        p.relative_to(root).as_posix() for p in left[:2]
    )
    assert report.unacknowledged_staging == [left[-1].name]
    assert report.debris_bytes == 4096 + 1000 + 2048
    assert report.missing == [] and report.unknown == []
    assert files_under(root) == aips_before  # nothing but the AIPs
    assert not left[1].parent.parent.exists()  # nor the directories the debris alone made
    assert sorted(p.name for p in settings.staging_dir.iterdir()) == staging_before
    assert sip_state(rt, sip_id)[0] == "PRESERVED"


def test_young_debris_is_left_to_its_writer_and_the_scheduler_sweeps_old(
    rt, settings, client, make_token
):
    sip_id = push(client, make_token(), {"a.txt": b"kept\n"})
    drain(rt)
    aip_id = sip_state(rt, sip_id)[1]
    young = leave_debris(rt, settings, aip_id, old=False)
    tick(rt, force=True)
    assert all(p.exists() for p in young)

    for path in young:
        os.utime(path, (OLD, OLD))
    tick(rt, force=True)
    assert not any(p.exists() for p in young[:3])
    assert not young[-1].exists()


def test_after_a_crash_the_operator_reclaims_fresh_debris_at_once(rt, settings, client, make_token):
    """``storage reconcile --debris-after-minutes 0``: right after a kill, no waiting."""
    from support.cli import preserve

    sip_id = push(client, make_token(), {"a.txt": b"kept\n"})
    drain(rt)
    aip_id = sip_state(rt, sip_id)[1]
    root = Path(rt.profile().target("site-a-disk").root)
    aips_before = files_under(root)
    fresh = leave_debris(rt, settings, aip_id, old=False)

    kept = preserve(settings, "storage", "reconcile", "site-a-disk")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert all(p.exists() for p in fresh)  # younger than the setting's hour: a live writer's?

    done = preserve(settings, "storage", "reconcile", "site-a-disk", "--debris-after-minutes", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 debris" in done.stdout, done.stdout
    assert files_under(root) == aips_before
    assert not fresh[-1].exists()
