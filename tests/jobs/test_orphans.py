"""Crash recovery in seconds: a job whose worker on this host is gone is taken up again at
once, not when its lease runs out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from preserve.catalog import queue
from preserve.jobs.worker import reclaim_orphans


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _claimed_by(rt, holder: str, lease: int = 3600) -> int:
    with rt.sessions.begin() as session:
        queue.enqueue(session, "test.orphan", {"holder": holder})
    with rt.sessions.begin() as session:
        job = queue.claim(session, holder, lease)
        assert job is not None
        return job.id


def _claim_now(rt, worker: str) -> int | None:
    with rt.sessions.begin() as session:
        job = queue.claim(session, worker, 60)
        return None if job is None else job.id


def test_a_job_of_a_dead_worker_on_this_host_is_runnable_at_once(rt):
    gone = f"{socket.gethostname()}:{_dead_pid()}:1"
    job_id = _claimed_by(rt, gone)
    assert _claim_now(rt, "another") is None  # an hour of lease left

    assert reclaim_orphans(rt) == 1
    assert _claim_now(rt, "another") == job_id


def test_live_workers_and_other_hosts_keep_their_leases(rt):
    _claimed_by(rt, f"{socket.gethostname()}:{os.getpid()}:7")
    _claimed_by(rt, f"elsewhere.example:{_dead_pid()}:1")

    assert reclaim_orphans(rt) == 0
    assert _claim_now(rt, "another") is None
