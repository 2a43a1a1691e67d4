"""The durable job queue: claims are leases, finished work can be re-armed, failures back off."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from preserve.catalog import queue
from preserve.catalog.models import Job, JobState
from preserve.catalog.types import utcnow


def enqueue(rt, kind: str = "test.kind", payload: dict | None = None, **kw) -> int:
    with rt.sessions.begin() as session:
        return queue.enqueue(session, kind, payload or {}, **kw).id


def claim(rt, worker: str, lease_seconds: int = 300, kinds: list[str] | None = None):
    """Claim in a transaction of its own; returns (id, attempts) or None."""
    with rt.sessions.begin() as session:
        job = queue.claim(session, worker, lease_seconds, kinds)
        return None if job is None else (job.id, job.attempts)


def load(rt, job_id: int) -> Job:
    with rt.sessions() as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def set_columns(rt, job_id: int, **values) -> None:
    with rt.sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))


def make_runnable(rt, job_id: int) -> None:
    set_columns(rt, job_id, run_after=utcnow() - timedelta(seconds=1))


def test_enqueue_claim_complete(rt):
    job_id = enqueue(rt, "test.kind", {"n": 1})
    queued = load(rt, job_id)
    assert queued.state == JobState.QUEUED
    assert queued.attempts == 0
    assert queued.payload == {"n": 1}

    assert claim(rt, "w1", kinds=["other.kind"]) is None
    before = utcnow()
    assert claim(rt, "w1", lease_seconds=60, kinds=["test.kind"]) == (job_id, 1)
    running = load(rt, job_id)
    assert running.state == JobState.RUNNING
    assert running.locked_by == "w1"
    assert before + timedelta(seconds=60) <= running.lease_until <= utcnow() + timedelta(seconds=60)
    assert claim(rt, "w2") is None, "a job under a live lease is not claimed twice"

    with rt.sessions.begin() as session:
        assert queue.complete(session, job_id, "w1") is True
    done = load(rt, job_id)
    assert done.state == JobState.DONE
    assert done.finished_at is not None
    assert done.lease_until is None
    assert claim(rt, "w2") is None


def test_jobs_are_claimed_in_run_after_order_and_not_before(rt):
    later = enqueue(rt, run_after=utcnow() + timedelta(hours=1))
    first = enqueue(rt, run_after=utcnow() - timedelta(seconds=10))
    second = enqueue(rt)

    assert claim(rt, "w") == (first, 1)
    assert claim(rt, "w") == (second, 1)
    assert claim(rt, "w") is None
    assert load(rt, later).state == JobState.QUEUED


def test_dedupe_key_returns_the_live_job_and_rearms_a_finished_one(rt):
    job_id = enqueue(rt, payload={"v": 1}, dedupe_key="k")
    assert enqueue(rt, payload={"v": 2}, dedupe_key="k") == job_id
    assert claim(rt, "w1") == (job_id, 1)
    assert enqueue(rt, payload={"v": 3}, dedupe_key="k") == job_id
    running = load(rt, job_id)
    assert running.state == JobState.RUNNING
    assert running.payload == {"v": 1}, "a live job keeps the payload it was queued with"

    with rt.sessions.begin() as session:
        assert queue.complete(session, job_id, "w1")
    assert enqueue(rt, payload={"v": 4}, dedupe_key="k") == job_id
    rearmed = load(rt, job_id)
    assert (rearmed.state, rearmed.attempts, rearmed.payload) == (JobState.QUEUED, 0, {"v": 4})
    assert rearmed.finished_at is None

    assert claim(rt, "w2") == (job_id, 1)
    with rt.sessions.begin() as session:
        queue.fail(session, job_id, "w2", "boom", max_attempts=1)
    assert load(rt, job_id).state == JobState.DEAD
    assert enqueue(rt, payload={"v": 5}, dedupe_key="k") == job_id
    revived = load(rt, job_id)
    assert (revived.state, revived.attempts, revived.payload) == (JobState.QUEUED, 0, {"v": 5})
    assert revived.last_error is None
    assert revived.finished_at is None
    assert claim(rt, "w3") == (job_id, 1)

    with rt.sessions() as session:
        assert session.scalars(select(Job.id)).all() == [job_id]


def test_expired_lease_is_claimed_again_and_the_first_worker_loses(rt):
    job_id = enqueue(rt)
    assert claim(rt, "w1", lease_seconds=300) == (job_id, 1)
    assert claim(rt, "w2") is None

    set_columns(rt, job_id, lease_until=utcnow() - timedelta(seconds=1))
    assert claim(rt, "w2", lease_seconds=300) == (job_id, 2)

    with rt.sessions.begin() as session:
        assert queue.complete(session, job_id, "w1") is False
        queue.fail(session, job_id, "w1", "late failure", max_attempts=1)
    taken = load(rt, job_id)
    assert taken.state == JobState.RUNNING
    assert taken.locked_by == "w2"
    assert taken.last_error is None, "a worker that lost its lease cannot fail the job"

    with rt.sessions.begin() as session:
        assert queue.complete(session, job_id, "w2") is True
    assert load(rt, job_id).state == JobState.DONE


def test_fail_backs_off_then_the_job_is_dead(rt):
    job_id = enqueue(rt)
    for attempt in (1, 2):
        assert claim(rt, "w") == (job_id, attempt)
        before = utcnow()
        with rt.sessions.begin() as session:
            queue.fail(session, job_id, "w", f"boom {attempt}", max_attempts=3)
        after = utcnow()
        job = load(rt, job_id)
        ceiling = queue.BASE_BACKOFF_SECONDS * 2 ** (attempt - 1)
        assert job.state == JobState.QUEUED
        assert job.last_error == f"boom {attempt}"
        assert job.lease_until is None
        assert before + timedelta(seconds=ceiling / 2) <= job.run_after
        assert job.run_after <= after + timedelta(seconds=ceiling)
        assert claim(rt, "w") is None, "a backed-off job waits"
        make_runnable(rt, job_id)

    assert claim(rt, "w") == (job_id, 3)
    with rt.sessions.begin() as session:
        queue.fail(session, job_id, "w", "x" * 5000, max_attempts=3)
    dead = load(rt, job_id)
    assert dead.state == JobState.DEAD
    assert dead.finished_at is not None
    assert len(dead.last_error) == 4000
    make_runnable(rt, job_id)
    assert claim(rt, "w") is None


def test_waiting_for_storage_does_not_use_up_attempts(rt):
    job_id = enqueue(rt)
    for _ in range(3):
        assert claim(rt, "w") == (job_id, 1)
        with rt.sessions.begin() as session:
            queue.retry_later(session, job_id, "w", "store down")
        waiting = load(rt, job_id)
        assert (waiting.state, waiting.attempts) == (JobState.QUEUED, 0)
        make_runnable(rt, job_id)

    claim(rt, "w")
    with rt.sessions.begin() as session:
        queue.fail(session, job_id, "w", "first real failure", max_attempts=3)
    failed = load(rt, job_id)
    assert (failed.state, failed.attempts) == (JobState.QUEUED, 1)
    assert failed.last_error == "first real failure"


def test_backoff_grows_within_jitter_bounds_and_is_capped():
    ceilings = []
    for attempt in range(1, 20):
        ceiling = min(queue.MAX_BACKOFF_SECONDS, queue.BASE_BACKOFF_SECONDS * 2 ** (attempt - 1))
        samples = [queue.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples), attempt
        ceilings.append(ceiling)
    assert ceilings == sorted(ceilings)
    assert ceilings[0] == queue.BASE_BACKOFF_SECONDS
    assert ceilings[-1] == queue.MAX_BACKOFF_SECONDS
    assert max(queue.backoff(60) for _ in range(200)) <= queue.MAX_BACKOFF_SECONDS
    assert len({queue.backoff(5) for _ in range(50)}) > 1, "jittered, not fixed"
    assert max(queue.backoff(30, cap=300.0) for _ in range(200)) <= 300.0


def test_backoff_is_capped_for_any_attempt_count():
    """2.0 * 2**1024 overflows a float: the cap must hold however long a job has waited."""
    for attempt in (1025, 10_000, 10**9):
        assert queue.MAX_BACKOFF_SECONDS / 2 <= queue.backoff(attempt) <= queue.MAX_BACKOFF_SECONDS


def test_concurrent_workers_claim_each_job_exactly_once(rt):
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("concurrent claims with SKIP LOCKED are a PostgreSQL feature")
    with rt.sessions.begin() as session:
        ids = [queue.enqueue(session, "test.kind", {"n": n}).id for n in range(200)]
    claimed: dict[str, list[int]] = {f"w{n}": [] for n in range(4)}
    errors: list[BaseException] = []
    start = threading.Barrier(len(claimed))

    def work(wid: str) -> None:
        try:
            start.wait()
            while True:
                with rt.sessions.begin() as session:
                    job = queue.claim(session, wid, 300)
                    if job is None:
                        return
                    claimed[wid].append(job.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(wid,)) for wid in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    everything = [i for got in claimed.values() for i in got]
    assert sorted(everything) == sorted(ids)
    with rt.sessions() as session:
        rows = session.execute(select(Job.id, Job.locked_by, Job.attempts, Job.state)).all()
    owner = {i: wid for wid, got in claimed.items() for i in got}
    assert all(
        r.locked_by == owner[r.id] and r.attempts == 1 and r.state == JobState.RUNNING for r in rows
    )
