"""Free space watched, faults named (issue 11, item 7): free space per filesystem target and
for the data directory in ``storage check``, ``storage status``, ``/metrics``, ``/health`` and an
alert, with a warning threshold that is a setting; a full staging disk is a 507 problem, never
the client's fault; a worker that cannot work backs off with one log line per step."""

from __future__ import annotations

import errno
import logging
import subprocess
import uuid

import pytest

from preserve.catalog.models import Alert
from preserve.jobs.scheduler import tick
from preserve.jobs.worker import MAX_LOOP_BACKOFF, Backoff
from support.cli import env_for
from support.http import auth
from support.records import form, metadata
from support.server import run_cli
from support.tmpfs import tmpfs

ALL = 2**62  # a threshold no disk meets: every filesystem is "low"


def test_without_pressure_nothing_warns(rt, client):
    rt.settings.free_space_warn_bytes = 0
    assert client.get("/health").json() == {"status": "ok", "degraded": []}
    metrics = client.get("/metrics").text
    assert 'preserve_free_space_low{filesystem="(data directory)"} 0' in metrics
    assert 'preserve_free_space_low{filesystem="site-a-disk"} 0' in metrics
    free = [line for line in metrics.splitlines() if line.startswith("preserve_free_bytes{")]
    assert {line.split('"')[1] for line in free} == {
        "(data directory)",
        "site-a-disk",
        "site-b-nas",
    }
    assert all(int(line.split()[-1]) > 0 for line in free)


def test_low_free_space_is_warned_everywhere(rt, settings, client):
    rt.settings.free_space_warn_bytes = ALL

    health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert any(w.startswith("(data directory):") for w in health["degraded"])
    assert any(w.startswith("site-a-disk:") for w in health["degraded"])
    metrics = client.get("/metrics").text
    assert 'preserve_free_space_low{filesystem="(data directory)"} 1' in metrics
    assert 'preserve_free_space_low{filesystem="site-b-nas"} 1' in metrics

    tick(rt, force=True)
    tick(rt, force=True)  # the condition lasts; the alert is said once a day
    with rt.sessions() as session:
        found = sorted(
            (a.severity, a.target) for a in session.query(Alert).filter_by(kind="low-free-space")
        )
    assert found == [
        ("warning", "(data directory)"),
        ("warning", "site-a-disk"),
        ("warning", "site-b-nas"),
    ]

    env = env_for(settings) | {"PRESERVE_FREE_SPACE_WARN_BYTES": str(ALL)}
    for command in ("check", "status"):
        done = run_cli(env, "storage", command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)  # a warning, no failure
        assert "WARNING low free space (data directory)" in done.stdout, done.stdout
        assert "site-a-disk" in done.stdout
    quiet = run_cli(env_for(settings) | {"PRESERVE_FREE_SPACE_WARN_BYTES": "0"}, "storage", "check")
    assert "WARNING" not in quiet.stdout


def test_a_worker_that_cannot_work_backs_off_with_one_line_per_step(caplog):
    backoff = Backoff(0.2)
    full = OSError(errno.ENOSPC, "No space left on device")
    with caplog.at_level(logging.INFO, logger="preserve.jobs.worker"):
        delays = [backoff.failed(full) for _ in range(12)]
        backoff.reset()
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0]
    assert delays[-1] == MAX_LOOP_BACKOFF and max(delays) == MAX_LOOP_BACKOFF
    records = [r for r in caplog.records if r.name == "preserve.jobs.worker"]
    assert len(records) == 13  # one per step, one when it works again
    assert all(r.exc_info is None for r in records)  # a full disk needs no traceback
    assert "the disk is full" in records[0].getMessage()
    assert backoff.failed(full) == 1.0  # a good round starts the steps again


@pytest.fixture
def tiny_staging(settings):
    """A 1 MiB tmpfs mounted over the staging directory (needs root; skipped elsewhere)."""
    with tmpfs(settings.staging_dir, "1m") as staging:
        yield staging


def test_a_full_staging_disk_is_507_and_the_same_push_works_once_space_is_freed(
    rt, client, make_token, tiny_staging
):
    token = make_token()
    files = {"big.bin": uuid.uuid4().bytes * (3 * 1024 * 1024 // 16)}  # 3 MiB into 1 MiB
    response = client.post("/v1/sips", **form(files, metadata(), headers=auth(token)))
    assert response.status_code == 507, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/insufficient-storage")
    assert response.headers["retry-after"]
    assert list(tiny_staging.iterdir()) == []  # nothing half-written left behind

    subprocess.run(["umount", "-l", tiny_staging], check=True)
    again = client.post("/v1/sips", **form(files, metadata(), headers=auth(token)))
    assert again.status_code == 202, again.text


def test_a_job_that_meets_a_full_disk_waits_without_spending_an_attempt(rt):
    from preserve.catalog.models import Job, JobState
    from preserve.catalog.queue import enqueue
    from preserve.jobs.registry import _HANDLERS, task
    from preserve.jobs.worker import run_one

    @task("test.disk-full")
    def full(_rt, _payload) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    try:
        with rt.sessions.begin() as session:
            job_id = enqueue(session, "test.disk-full", {}).id
        assert run_one(rt, "w1", ["test.disk-full"])
        with rt.sessions() as session:
            job = session.get(Job, job_id)
            assert job.state == JobState.QUEUED, job.last_error
            assert job.attempts == 0 and job.waits == 1
            assert "disk full" in job.last_error
    finally:
        _HANDLERS.pop("test.disk-full", None)
