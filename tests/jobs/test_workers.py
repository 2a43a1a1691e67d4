"""Workers: outages hold only their store's jobs, leases are renewed while a job runs, outcomes
are classified, one worker at a time on SQLite, and on PostgreSQL many worker processes do
each job exactly once."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from preserve.catalog import queue
from preserve.catalog.events import EventType
from preserve.catalog.models import Event, Job, JobState, Outage, Sip
from preserve.catalog.types import utcnow
from preserve.errors import IntegrityError
from preserve.jobs.registry import task
from preserve.jobs.worker import _heartbeat, run_one
from preserve.storage.base import ObjectCorrupt, SourceUnavailable, StorageError
from storage.replication_support import Fs, push, write_profile
from support.http import wait_for
from support.server import cli_env, start_worker, stop_process


def enqueue(rt, kind: str = "test.kind", **kw) -> int:
    with rt.sessions.begin() as session:
        return queue.enqueue(session, kind, {}, **kw).id


def claim(rt, worker: str = "w", lease: int = 60) -> int | None:
    with rt.sessions.begin() as session:
        job = queue.claim(session, worker, lease)
        return None if job is None else job.id


def load(rt, job_id: int) -> Job:
    with rt.sessions() as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def outage(rt, resource: str) -> Outage | None:
    with rt.sessions() as session:
        row = session.get(Outage, resource)
        if row is not None:
            session.expunge(row)
        return row


def let_probe(rt, resource: str) -> None:
    with rt.sessions.begin() as session:
        session.execute(
            update(Outage)
            .where(Outage.resource == resource)
            .values(retry_after=utcnow() - timedelta(seconds=1))
        )


# -- the queue's outage gate ----------------------------------------------------------------


def test_an_outage_holds_only_its_own_jobs_and_one_probe_goes_through(rt):
    held = [enqueue(rt, resource="target:b") for _ in range(3)]
    other = enqueue(rt, resource="target:c")
    plain = enqueue(rt)
    with rt.sessions.begin() as session:
        queue.note_outage(session, "target:b", "b is down")

    assert [claim(rt), claim(rt), claim(rt)] == [other, plain, None]

    let_probe(rt, "target:b")
    probe = claim(rt, lease=120)
    assert probe == held[0]
    assert outage(rt, "target:b").retry_after > utcnow() + timedelta(seconds=100)
    assert claim(rt) is None, "while the probe runs, the store's other jobs wait"

    with rt.sessions.begin() as session:
        assert queue.complete(session, probe, "w")
    assert outage(rt, "target:b") is None, "a finished job proves the store is back"
    assert [claim(rt), claim(rt), claim(rt)] == [held[1], held[2], None]


def test_retry_later_names_the_outage_and_gives_the_attempt_back(rt):
    job_id = enqueue(rt, resource="target:b")
    for round_ in range(1, 4):
        let_probe(rt, "target:b")
        assert claim(rt) == job_id
        with rt.sessions.begin() as session:
            queue.retry_later(session, job_id, "w", f"down {round_}", max_backoff=30)
        job = load(rt, job_id)
        assert (job.state, job.attempts, job.waits) == (JobState.QUEUED, 0, round_)
        down = outage(rt, "target:b")
        assert down.failures == round_ and down.last_error == f"down {round_}"
        ceiling = min(30, queue.BASE_BACKOFF_SECONDS * 2 ** (round_ - 1))
        assert down.retry_after - utcnow() <= timedelta(seconds=ceiling)
        assert claim(rt) is None

    let_probe(rt, "target:b")
    assert claim(rt) == job_id
    with rt.sessions.begin() as session:
        queue.fail(session, job_id, "w", "a real failure", max_attempts=1)
    assert load(rt, job_id).state == JobState.DEAD, "failures still count"
    assert outage(rt, "target:b") is not None, "a failure proves nothing about the store"


def test_a_lost_probe_race_claims_nothing_of_that_store(rt):
    """Two workers see the outage due at once: the one that loses takes other work."""
    first, second = enqueue(rt, resource="target:b"), enqueue(rt, resource="target:b")
    plain = enqueue(rt)
    with rt.sessions.begin() as session:
        queue.note_outage(session, "target:b", "down")
    let_probe(rt, "target:b")
    with rt.sessions.begin() as session:
        now = utcnow()
        assert queue._take_probe(session, "target:b", now, 60) is True
        assert queue._take_probe(session, "target:b", now, 60) is False
    assert claim(rt) == plain
    assert claim(rt) is None, "the probe was taken; the store's jobs wait for it"
    assert {load(rt, j).state for j in (first, second)} == {JobState.QUEUED}


def test_backoff_has_any_attempt_count_and_a_cap():
    assert queue.backoff(10_000) <= queue.MAX_BACKOFF_SECONDS
    assert 5 <= queue.backoff(50, cap=10) <= 10


def test_renew_extends_only_the_holders_lease(rt):
    job_id = enqueue(rt)
    claim(rt, "w1", lease=5)
    before = load(rt, job_id).lease_until
    with rt.sessions.begin() as session:
        assert queue.renew(session, job_id, "w1", 600)
        assert not queue.renew(session, job_id, "w2", 600)
    assert load(rt, job_id).lease_until > before + timedelta(seconds=500)


def test_the_heartbeat_keeps_a_long_job_leased(rt):
    job_id = enqueue(rt)
    claim(rt, "w1", lease=1)
    first = load(rt, job_id).lease_until
    with _heartbeat(rt, job_id, "w1", 0.3):
        time.sleep(0.8)
    assert load(rt, job_id).lease_until > first, "renewed while the job ran"
    assert claim(rt, "w2") is None


# -- how run_one classifies outcomes --------------------------------------------------------


@task("test.storage-down")
def _storage_down(rt, payload) -> None:
    raise StorageError("b: cannot write: EndpointConnectionError")


@task("test.source-gone")
def _source_gone(rt, payload) -> None:
    raise SourceUnavailable("cannot read data/a from the copy's source")


@task("test.corrupt")
def _corrupt(rt, payload) -> None:
    raise ObjectCorrupt("b: k does not match the server's own checksum")


@task("test.integrity")
def _integrity(rt, payload) -> None:
    raise IntegrityError("read-back of k gave sha256 00")


@pytest.mark.parametrize(
    ("kind", "state", "attempts", "outage_expected"),
    [
        ("test.storage-down", JobState.QUEUED, 0, True),
        ("test.source-gone", JobState.QUEUED, 0, False),
        ("test.corrupt", JobState.DEAD, 1, False),
        ("test.integrity", JobState.DEAD, 1, False),
    ],
)
def test_run_one_tells_an_outage_from_a_failure(rt, kind, state, attempts, outage_expected):
    rt.settings.job_max_attempts = 1
    job_id = enqueue(rt, kind, resource="target:b")
    assert run_one(rt, "w") is True
    job = load(rt, job_id)
    assert (job.state, job.attempts) == (state, attempts)
    assert (outage(rt, "target:b") is not None) is outage_expected
    assert run_one(rt, "w") is False


# -- worker processes -----------------------------------------------------------------------


@pytest.mark.slow
def test_on_sqlite_a_second_worker_stands_by_and_takes_over(rt, tmp_path):
    if rt.engine.dialect.name != "sqlite":
        pytest.skip("the single-worker lock is for the embedded SQLite catalogue")
    env = cli_env(rt.settings.data_dir, rt.settings.sqlalchemy_url, rt.settings.profiles_dir)
    env["PRESERVE_WORKER_POLL_SECONDS"] = "0.05"
    first = start_worker(env, tmp_path / "w1.log")
    second = None
    try:
        wait_for(lambda: b"started" in (tmp_path / "w1.log").read_bytes(), what="worker 1")
        second = start_worker(env, tmp_path / "w2.log")
        wait_for(lambda: b"standing by" in (tmp_path / "w2.log").read_bytes(), what="standby")
        done_by = _run_a_job(rt)
        assert done_by.split(":")[1] == str(first.pid)

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        wait_for(lambda: b"started" in (tmp_path / "w2.log").read_bytes(), what="takeover")
        assert _run_a_job(rt).split(":")[1] == str(second.pid)
        second.terminate()
        assert second.wait(30) == 0
    finally:
        stop_process(first)
        if second is not None:
            stop_process(second)


def _run_a_job(rt) -> str:
    """A job any worker can run (processing a SIP that is not there is a no-op)."""
    job_id = enqueue(rt, "ingest.process")
    with rt.sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job_id).values(payload={"sip_id": "none"}))
    wait_for(lambda: load(rt, job_id).state == JobState.DONE, what="the job")
    return load(rt, job_id).locked_by


@pytest.mark.slow
def test_four_worker_processes_do_200_copies_each_exactly_once(rt, client, make_token, tmp_path):
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("several workers share the queue on PostgreSQL")
    names = [f"t{n}" for n in range(11)]
    write_profile(
        rt.settings.profiles_dir,
        "local",
        [Fs(n, f"site-{n}", f"media-{n}", tmp_path / "stores" / n) for n in names],
        copies=11,
        sites=11,
        media=11,
    )
    with rt.sessions.begin() as session:  # the first copies go to t0 alone, the rest queued
        for name in names[1:]:
            queue.note_outage(session, f"target:{name}", "held for the test")
    token = make_token()
    sips = [push(client, token, {f"record-{i}.txt": f"record {i}\n".encode()}) for i in range(20)]
    while run_one(rt, "setup", kinds=["ingest.process", "storage.store"]):
        pass
    with rt.sessions.begin() as session:
        session.execute(delete(Outage))
    with rt.sessions() as session:
        copies = session.scalars(select(Job).where(Job.kind == "storage.replicate")).all()
        assert len(copies) == 200 and all(j.state == JobState.QUEUED for j in copies)

    env = cli_env(rt.settings.data_dir, rt.settings.sqlalchemy_url, rt.settings.profiles_dir)
    env["PRESERVE_WORKER_POLL_SECONDS"] = "0.05"
    workers = [start_worker(env, tmp_path / f"w{n}.log") for n in range(4)]
    try:
        wait_for(lambda: _all_done(rt), timeout=240, what="200 copies")
    finally:
        for w in workers:
            stop_process(w)

    with rt.sessions() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "storage.replicate")).all()
        assert [(j.state, j.attempts) for j in jobs] == [(JobState.DONE, 1)] * 200
        by_worker = Counter(j.locked_by.split(":")[1] for j in jobs)
        assert set(by_worker) <= {str(w.pid) for w in workers}
        assert len(by_worker) >= 2, f"the work was shared: {by_worker}"
        events = session.execute(
            select(Event.object_id, Event.target).where(
                Event.type == EventType.REPLICATION.value,
                Event.outcome == "success",
                Event.target.is_not(None),
            )
        ).all()
        assert Counter(events).most_common(1)[0][1] == 1, "no copy was recorded twice"
        assert len(events) == 220, "the first copy and ten replicas of each of 20 AIPs"
        states = session.scalars(select(Sip.state).where(Sip.id.in_(sips))).all()
        assert set(states) == {"PRESERVED"}


def _all_done(rt) -> bool:
    with rt.sessions() as session:
        left = session.scalar(
            select(Job.id).where(Job.kind == "storage.replicate", Job.state != JobState.DONE)
        )
    return left is None


def test_worker_module_keeps_no_thread_after_a_job(rt):
    enqueue(rt, "test.storage-down")
    before = threading.active_count()
    run_one(rt, "w")
    assert threading.active_count() == before, "the lease heartbeat ends with its job"
