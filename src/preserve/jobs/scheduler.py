"""The scheduler tick: periodic work declared next to its domain, run by one process at a time.

Every worker calls :meth:`Ticker.maybe_run` between jobs; :func:`tick` runs only in the process
that holds the scheduler lock — a PostgreSQL advisory lock (released by the server if the
process dies), or on SQLite an exclusive ``flock`` on a file beside the database (one machine).
Each periodic task's last run time is kept in ``scheduler_tasks``, so a task runs once per
period however many workers take turns holding the lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from preserve.catalog.models import SchedulerTask
from preserve.catalog.types import utcnow
from preserve.runtime import Runtime
from preserve.settings import Settings
from preserve.storage.space import disk_full

log = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x70726573_65727665  # "preserve"
TICK_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class Periodic:
    name: str
    every: Callable[[Settings], float]
    run: Callable[[Runtime, datetime], object]


_PERIODIC: dict[str, Periodic] = {}


def periodic(name: str, every: float | Callable[[Settings], float]):
    """Declare ``fn(rt, now)`` to run every ``every`` seconds (a number or a settings getter)."""
    interval = every if callable(every) else (lambda _s, seconds=every: seconds)

    def register(fn: Callable[[Runtime, datetime], object]):
        _PERIODIC[name] = Periodic(name, interval, fn)
        return fn

    return register


def tick(rt: Runtime, now: datetime | None = None, *, force: bool = False) -> list[str] | None:
    """Run the periodic tasks that are due; None when another process holds the lock."""
    from preserve.jobs.registry import load_tasks

    load_tasks()
    now = now or utcnow()
    with scheduler_lock(rt) as leader:
        if not leader:
            return None
        return [p.name for p in list(_PERIODIC.values()) if _run_if_due(rt, p, now, force)]


def _run_if_due(rt: Runtime, task: Periodic, now: datetime, force: bool) -> bool:
    with rt.sessions.begin() as session:
        row = session.get(SchedulerTask, task.name)
        last = row.last_run_at if row is not None else None
    period = timedelta(seconds=task.every(rt.settings))
    if not force and last is not None and now - last < period and last <= now:
        return False
    try:
        task.run(rt, now)
    except Exception as exc:
        if disk_full(exc):  # no other task can do better: the ticker says it once
            raise
        log.exception("periodic task %s failed", task.name)
    with rt.sessions.begin() as session:
        row = session.get(SchedulerTask, task.name)
        if row is None:
            session.add(SchedulerTask(name=task.name, last_run_at=now))
        else:
            row.last_run_at = now
    return True


@contextmanager
def scheduler_lock(rt: Runtime) -> Iterator[bool]:
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            leader = bool(got.scalar())
            conn.commit()
            try:
                yield leader
            finally:
                if leader:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                    conn.commit()
        return
    with _file_lock(_lock_path(rt)) as leader:
        yield leader


_thread_lock = threading.Lock()


def _lock_path(rt: Runtime) -> Path:
    database = rt.engine.url.database
    if database and database != ":memory:":
        return Path(f"{database}.scheduler-lock")
    return rt.settings.resolved_data_dir / "scheduler.lock"


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    if not _thread_lock.acquire(blocking=False):
        yield False
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        _thread_lock.release()


class Ticker:
    """Calls :func:`tick` from a worker loop at most every few seconds; never raises. A full
    disk is said once, in one line without a traceback, until a tick gets through again (the
    worker's own back-off says each of its steps)."""

    def __init__(self, rt: Runtime, check_seconds: float = TICK_CHECK_SECONDS) -> None:
        self.rt = rt
        self.check_seconds = check_seconds
        self._next = 0.0
        self._disk_full = False

    def maybe_run(self) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.check_seconds
        try:
            tick(self.rt)
        except Exception as exc:
            if not disk_full(exc):
                log.exception("scheduler tick failed")
            elif not self._disk_full:
                log.warning("scheduler tick waits: the disk is full (%s)", _first_line(exc))
            self._disk_full = disk_full(exc)
        else:
            self._disk_full = False


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]
