"""An idle worker is woken by a queued job (LISTEN/NOTIFY on PostgreSQL, a FIFO beside the SQLite
database) instead of finding it at its next poll; with the wake-up lost, the poll still finds it."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from preserve.catalog import queue
from preserve.catalog.models import Job, JobState
from preserve.catalog.types import utcnow
from preserve.catalog.wake import Wakeup, fifo_path, poke
from preserve.jobs.registry import task
from preserve.jobs.worker import run_forever
from support.http import wait_for

DONE: list[str] = []


@task("test.wake")
def _remember(rt, payload) -> None:
    DONE.append(payload["name"])


class Deaf(Wakeup):
    """A worker whose wake-ups are all lost: it opens no channel, so only its poll ends a wait."""

    def listen(self, engine) -> None:
        pass


@contextmanager
def worker(rt, wakeup: Wakeup, poll_seconds: float) -> Iterator[Wakeup]:
    """``run_forever`` in a thread, returned once it waits for work with nothing left to run."""
    rt.settings.worker_poll_seconds = poll_seconds
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(rt, stop, wakeup), daemon=True)
    thread.start()
    try:
        wait_for(lambda: wakeup.waiting and not runnable(rt), what="the worker to go idle")
        yield wakeup
    finally:
        stop.set()
        wakeup.interrupt()
        thread.join(timeout=60)
        assert not thread.is_alive()


def runnable(rt) -> int:
    with rt.sessions() as session:
        return sum(
            1
            for job in session.query(Job).filter(Job.state == JobState.QUEUED)
            if job.run_after <= utcnow()
        )


def state(rt, job_id: int) -> JobState:
    with rt.sessions() as session:
        return session.get(Job, job_id).state


def test_a_queued_job_wakes_the_idle_worker_at_once(rt):
    with worker(rt, Wakeup(), poll_seconds=3600) as wakeup:
        before = wakeup.woken
        with rt.sessions.begin() as session:
            job_id = queue.enqueue(session, "test.wake", {"name": "woken"}).id
        # An hour's poll: only the wake-up can have ended the worker's wait.
        wait_for(lambda: state(rt, job_id) == JobState.DONE, what="the job to run")
        assert wakeup.woken > before
        assert wakeup.polled == 0
    assert "woken" in DONE


def test_a_lost_wake_up_is_made_good_by_the_poll(rt):
    with worker(rt, Deaf(), poll_seconds=0.05) as wakeup:
        with rt.sessions.begin() as session:
            job_id = queue.enqueue(session, "test.wake", {"name": "polled"}).id
        wait_for(lambda: state(rt, job_id) == JobState.DONE, what="the poll to find the job")
        assert wakeup.woken == 0
        assert wakeup.polled > 0
    assert "polled" in DONE


def test_a_job_queued_for_later_wakes_nobody(rt):
    wakeup = Wakeup()
    wakeup.listen(rt.engine)
    try:
        with rt.sessions.begin() as session:
            later = utcnow().replace(year=utcnow().year + 1)
            queue.enqueue(session, "test.wake", {"name": "later"}, run_after=later)
            assert not session.info.get("preserve.wake.announced")
            queue.enqueue(session, "test.wake", {"name": "now"})
            assert session.info.get("preserve.wake.announced")
        wait_for(lambda: wakeup.wait(0.1), what="the wake-up of the job runnable now")
    finally:
        wakeup.close()


def test_the_sqlite_wake_up_fifo_is_private_and_harmless_without_a_worker(rt):
    if rt.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL wakes workers with NOTIFY")
    path = fifo_path(rt.engine.url.database)
    assert not path.exists()
    assert poke(path) is False, "no FIFO: nothing is created, nothing waits"
    wakeup = Wakeup()
    wakeup.listen(rt.engine)
    try:
        mode = path.stat().st_mode
        assert stat.S_ISFIFO(mode) and stat.S_IMODE(mode) == 0o600
        assert poke(path) is True
        assert wakeup.wait(0) is True and wakeup.woken == 1
    finally:
        wakeup.close()
    assert poke(path) is False, "the worker has gone: the FIFO has no reader"
