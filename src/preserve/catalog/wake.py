"""Waking a worker when a job is queued, instead of leaving the job to its next poll.

- PostgreSQL: :func:`announce` sends ``NOTIFY preserve_jobs`` in the enqueuing transaction
  (the server delivers it at commit and drops it on rollback); a worker ``LISTEN``s on a
  connection of its own.
- SQLite: the API and its worker are processes on one machine. A worker keeps a FIFO beside
  the database (``<database>.wake``, mode 0600); :func:`announce` writes one byte to it once
  the enqueuing transaction has committed. Nobody listening (no worker, no FIFO) costs a
  failed ``open``.

Either is only a hint. A worker still polls every ``worker_poll_seconds`` when nothing wakes
it, so a lost wake-up (a dropped connection, a full pipe, a file system without FIFOs, a job
added without :func:`announce`) delays a job by one poll, never loses it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import stat
import time
import weakref
from pathlib import Path

from sqlalchemy import event as sa_event
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

CHANNEL = "preserve_jobs"
RECONNECT_SECONDS = 5.0
_ANNOUNCED = "preserve.wake.announced"

log = logging.getLogger(__name__)


def announce(session: Session) -> None:
    """Wake the workers once this session's transaction commits (one wake-up per transaction
    however many jobs it queues)."""
    if session.info.get(_ANNOUNCED):
        return
    session.info[_ANNOUNCED] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa_select(func.pg_notify(CHANNEL, "")))
    if not sa_event.contains(session, "after_commit", _committed):
        sa_event.listen(session, "after_commit", _committed)
        sa_event.listen(session, "after_rollback", _forget)


def _forget(session: Session) -> None:
    session.info.pop(_ANNOUNCED, None)


def _committed(session: Session) -> None:
    if session.info.pop(_ANNOUNCED, None) is None:
        return
    bind = session.get_bind()
    path = fifo_path(bind.url.database) if bind.dialect.name == "sqlite" else None
    if path is not None:
        poke(path)


def poke(path: Path) -> bool:
    """One byte into the FIFO at ``path``; False when nobody listens or it is full."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:  # ENOENT: no FIFO; ENXIO: no worker has it open
        return False
    try:
        os.write(fd, b"\1")
        return True
    except OSError:  # EAGAIN: the pipe is full, the worker has wake-ups enough
        return False
    finally:
        os.close(fd)


def fifo_path(database: str | None) -> Path | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).with_name(Path(database).name + ".wake")


class Wakeup:
    """What a worker waits on between jobs: a wake-up, its poll interval running out, or
    :meth:`interrupt` (a stop). Counts why each wait ended, so tests and logs can tell a job
    found by a wake-up from one found by polling."""

    def __init__(self) -> None:
        self.channel: _Channel | None = None
        self.woken = 0  # waits ended by a wake-up
        self.polled = 0  # waits that ran to their timeout
        self.waiting = False
        self._interrupt_r, self._interrupt_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # closed with the object, not by close(): a late signal handler must never write to
        # a descriptor number that has been reused
        weakref.finalize(self, _close_all, self._interrupt_r, self._interrupt_w)

    def listen(self, engine: Engine) -> None:
        """Open the wake-up channel of ``engine``'s database: LISTEN on PostgreSQL, the FIFO
        beside an SQLite file; none (polling alone) for anything else."""
        if self.channel is not None:
            return
        if engine.dialect.name == "postgresql":
            self.channel = _Listen(engine.url.set(drivername="postgresql").render_as_string(False))
            return
        path = fifo_path(engine.url.database)
        self.channel = _Fifo.open(path) if path is not None else None

    def wait(self, timeout: float) -> bool:
        """True when a wake-up ended the wait."""
        fds = [self._interrupt_r]
        channel_fd = self.channel.fileno() if self.channel is not None else None
        if channel_fd is not None:
            fds.append(channel_fd)
        self.waiting = True
        try:
            ready, _, _ = select.select(fds, [], [], timeout)
        finally:
            self.waiting = False
        if self._interrupt_r in ready:
            _drain(self._interrupt_r)
            return False
        if channel_fd in ready and self.channel is not None and self.channel.drain():
            self.woken += 1
            return True
        if not ready:
            self.polled += 1
        return False

    def interrupt(self) -> None:
        """End the current (or the next) wait at once."""
        with contextlib.suppress(OSError):
            os.write(self._interrupt_w, b"\1")

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None


class _Channel:
    def fileno(self) -> int | None:
        raise NotImplementedError

    def drain(self) -> bool:
        """Consume what arrived; True if it held a wake-up."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _Fifo(_Channel):
    def __init__(self, reader: int, writer: int) -> None:
        # The worker holds a write end too, so the FIFO never reads as closed (EOF) between
        # announcers and select() does not spin.
        self.reader, self.writer = reader, writer

    @classmethod
    def open(cls, path: Path) -> _Fifo | None:
        try:
            with contextlib.suppress(FileExistsError):
                os.mkfifo(path, 0o600)
            if not stat.S_ISFIFO(os.stat(path).st_mode):
                log.warning("%s is not a FIFO: the worker polls for jobs", path)
                return None
            reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            log.warning("no wake-up FIFO at %s (%s): the worker polls for jobs", path, exc)
            return None
        return cls(reader, writer)

    def fileno(self) -> int:
        return self.reader

    def drain(self) -> bool:
        return _drain(self.reader)

    def close(self) -> None:
        os.close(self.reader)
        os.close(self.writer)


class _Listen(_Channel):
    """A connection of its own that LISTENs; reconnected (at most every
    :data:`RECONNECT_SECONDS`) after it breaks, polling alone in between."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = None
        self._next_try = 0.0
        self._connect()

    def _connect(self) -> None:
        if time.monotonic() < self._next_try:
            return
        self._next_try = time.monotonic() + RECONNECT_SECONDS
        import psycopg  # only a PostgreSQL worker needs it

        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            log.warning("cannot LISTEN for jobs (%s): the worker polls for jobs", exc)
            return
        self.conn = conn

    def fileno(self) -> int | None:
        if self.conn is None:
            self._connect()
        return self.conn.fileno() if self.conn is not None else None

    def drain(self) -> bool:
        import psycopg

        assert self.conn is not None
        try:
            return sum(1 for _ in self.conn.notifies(timeout=0)) > 0
        except psycopg.Error as exc:
            log.warning("the LISTEN connection broke (%s): the worker polls for jobs", exc)
            self.close()
            return False

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _close_all(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


def _drain(fd: int) -> bool:
    got = False
    while True:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return got
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            return got
        if not data:
            return got
        got = True
