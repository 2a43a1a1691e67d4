"""The worker loop: claim a job, run it in its own session, record the outcome.

While a job runs, a heartbeat renews its lease every third of the lease, so a long upload is
never taken over by another worker, and a worker that dies (even by SIGKILL) stops renewing:
its job is taken again once the lease runs out. A storage error puts the job back to wait
(see :func:`preserve.catalog.queue.retry_later`); any other error counts as a failed attempt.

On PostgreSQL any number of workers share the queue. On the embedded SQLite catalogue one
worker runs at a time (docs/architecture.md, "Scaling out"): a second one stands by on a
lock file beside the database and takes over when the first exits or dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from preserve.catalog import queue
from preserve.catalog.wake import Wakeup
from preserve.errors import PreserveError, Retryable
from preserve.jobs.registry import handler_for, load_tasks
from preserve.jobs.scheduler import Ticker
from preserve.logs import request_id
from preserve.runtime import Runtime
from preserve.storage.space import disk_full

MAX_LOOP_BACKOFF = 60.0

log = logging.getLogger(__name__)
ORPHAN_CHECK_SECONDS = 5.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def reclaim_orphans(rt: Runtime) -> int:
    """Free at once the jobs whose worker on this host is gone (its process no longer runs),
    so a restart takes them up in seconds, not when their leases run out. Workers on other
    hosts are left to their leases, which are short and renewed often."""
    host = socket.gethostname()
    with rt.sessions.begin() as session:
        held = queue.running_on(session, host)
        freed = [
            job_id
            for job_id, holder in held
            if not _process_alive(holder) and queue.release(session, job_id, holder)
        ]
    for job_id in freed:
        log.warning("job %s: its worker is gone; taken up again now", job_id)
    return len(freed)


def _process_alive(holder: str) -> bool:
    try:
        pid = int(holder.split(":")[1])
    except (IndexError, ValueError):
        return True  # not ours to judge
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_one(rt: Runtime, wid: str | None = None, kinds: list[str] | None = None) -> bool:
    """Run at most one job; True if a job was run (whatever its outcome)."""
    wid = wid or worker_id()
    lease = rt.settings.job_lease_seconds
    with rt.sessions.begin() as session:
        job = queue.claim(session, wid, lease, kinds)
        if job is None:
            return False
        job_id, kind, payload = job.id, job.kind, dict(job.payload)
    token = request_id.set(payload.get("request_id"))  # the request that caused the job
    try:
        return _run(rt, wid, lease, job_id, kind, payload)
    finally:
        request_id.reset(token)


def _run(rt: Runtime, wid: str, lease: int, job_id: int, kind: str, payload: dict) -> bool:
    try:
        with _heartbeat(rt, job_id, wid, lease):
            handler_for(kind)(rt, payload)
    except Retryable as exc:
        if not exc.retryable:  # e.g. bad bytes: a failure, not an outage
            return _failed(rt, job_id, wid, kind, exc)
        log.warning("job %s (%s) waits: %s", job_id, kind, exc)
        with rt.sessions.begin() as session:
            queue.retry_later(
                session,
                job_id,
                wid,
                str(exc),
                store_down=exc.resource_down,
                max_backoff=rt.settings.storage_retry_max_seconds,
            )
        return True
    except Exception as exc:
        if disk_full(exc):  # the archive's own disk: wait for space, do not spend an attempt
            log.warning("job %s (%s) waits: the disk is full (%s)", job_id, kind, exc)
            with rt.sessions.begin() as session:
                queue.retry_later(
                    session,
                    job_id,
                    wid,
                    f"disk full: {exc}",
                    store_down=False,
                    max_backoff=rt.settings.storage_retry_max_seconds,
                )
            return True
        return _failed(rt, job_id, wid, kind, exc)
    with rt.sessions.begin() as session:
        if not queue.complete(session, job_id, wid):
            log.warning("job %s (%s) finished after another worker took it over", job_id, kind)
            return True
    log.info("job %s (%s) done", job_id, kind)
    return True


def _failed(rt: Runtime, job_id: int, wid: str, kind: str, exc: Exception) -> bool:
    message = str(exc) if isinstance(exc, PreserveError) else traceback.format_exc()
    log.error("job %s (%s) failed: %s", job_id, kind, exc)
    with rt.sessions.begin() as session:
        queue.fail(session, job_id, wid, message, rt.settings.job_max_attempts)
    return True


@contextmanager
def _heartbeat(rt: Runtime, job_id: int, wid: str, lease: int) -> Iterator[None]:
    done = threading.Event()

    def beat() -> None:
        while not done.wait(lease / 3):
            try:
                with rt.sessions.begin() as session:
                    held = queue.renew(session, job_id, wid, lease)
            except Exception:
                log.exception("job %s: could not renew the lease", job_id)
                continue
            if not held:
                log.warning("job %s: lease lost to another worker", job_id)
                return

    thread = threading.Thread(target=beat, name=f"lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def drain(rt: Runtime, max_jobs: int = 10_000) -> int:
    """Run runnable jobs until none is left (tests and one-shot CLI use)."""
    count = 0
    while count < max_jobs and run_one(rt):
        count += 1
    return count


def run_forever(
    rt: Runtime, stop: threading.Event | None = None, wakeup: Wakeup | None = None
) -> None:
    """Claim and run jobs until ``stop`` is set. With no job to run, the worker waits on
    ``wakeup`` (the queue's notification, :mod:`preserve.catalog.wake`) for at most
    ``worker_poll_seconds``, then looks again; whoever sets ``stop`` from another thread
    calls ``wakeup.interrupt()`` to end that wait early."""
    load_tasks()
    stop = stop or threading.Event()
    wakeup = wakeup or Wakeup()
    _install_signal_handlers(stop, wakeup)
    supervisor = _serve_parent()
    with _single_sqlite_worker(rt.settings.sqlalchemy_url, stop) as allowed:
        if not allowed:
            return
        wakeup.listen(rt.engine)
        try:
            _loop(rt, stop, wakeup, supervisor)
        finally:
            wakeup.close()


def _loop(rt: Runtime, stop: threading.Event, wakeup: Wakeup, supervisor: int | None) -> None:
    wid = worker_id()
    log.info("worker %s started", wid)
    _safely(_sweep_at_start, rt)
    ticker = Ticker(rt)  # the scheduler tick (one process at a time)
    backoff = Backoff(rt.settings.worker_poll_seconds)
    next_reclaim = 0.0
    while not stop.is_set():
        if time.monotonic() >= next_reclaim:
            _safely(reclaim_orphans, rt)
            next_reclaim = time.monotonic() + ORPHAN_CHECK_SECONDS
        if supervisor is not None and os.getppid() != supervisor:
            log.warning("worker %s: its preserve serve process is gone; stopping", wid)
            break
        ticker.maybe_run()
        try:
            ran = run_one(rt, wid)
        except Exception as exc:
            stop.wait(backoff.failed(exc))
            continue
        backoff.reset()
        if not ran and wakeup.wait(rt.settings.worker_poll_seconds):
            log.debug("worker %s woken by a queued job", wid)
    log.info("worker %s stopped", wid)


class Backoff:
    """The worker loop's wait after an error it cannot get past (a full disk, a database that
    cannot write): doubled per failure up to :data:`MAX_LOOP_BACKOFF`, one log line per step
    (a traceback only for the first of a run of unexpected errors), reset by a good round."""

    def __init__(self, initial: float) -> None:
        self.initial = max(initial, 0.05)
        self.delay = 0.0
        self.failures = 0

    def failed(self, exc: BaseException) -> float:
        self.failures += 1
        self.delay = min(MAX_LOOP_BACKOFF, self.delay * 2 if self.delay else self.initial * 5)
        full = disk_full(exc)
        what = "the disk is full" if full else f"{type(exc).__name__}"
        detail = str(exc).splitlines()[0][:300] if str(exc) else ""
        log.error(
            "worker cannot work (%s: %s); failure %d, next try in %.1f s",
            what,
            detail,
            self.failures,
            self.delay,
            exc_info=exc if self.failures == 1 and not full else None,
        )
        return self.delay

    def reset(self) -> None:
        if self.failures:
            log.info("worker works again after %d failed rounds", self.failures)
        self.delay = 0.0
        self.failures = 0


def _sweep_at_start(rt: Runtime) -> None:
    """What a killed predecessor left (temporary objects, unacknowledged staging), past the
    debris age; the scheduler sweeps hourly after that."""
    from preserve.jobs.tasks.health import sweep_debris

    sweep_debris(rt)


def _safely(step, rt: Runtime) -> None:
    try:
        step(rt)
    except Exception:
        log.exception("worker: %s failed; retrying later", step.__name__)


def _serve_parent() -> int | None:
    """The pid of the ``preserve serve`` that started this worker, if one did.

    A worker beside ``preserve serve`` must not outlive it: an orphan would go on claiming
    jobs with settings nobody runs any more (and, on a shared PostgreSQL, take other
    deployments' jobs). Standalone workers (systemd, compose) are left alone."""
    parent = os.getppid()
    try:
        argv = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    names = [Path(a.decode(errors="replace")).name for a in argv]
    is_serve = "serve" in names and any(n.startswith("preserve") for n in names)
    return parent if is_serve else None


@contextmanager
def _single_sqlite_worker(url: str, stop: threading.Event) -> Iterator[bool]:
    """On SQLite, hold an exclusive lock on ``<database>.worker.lock`` while working.

    The kernel drops the lock when the process exits, however it exits, so a standby takes
    over from a worker that was killed. Yields False if stopped while standing by."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield True
        return
    path = Path(parsed.database).with_name(Path(parsed.database).name + ".worker.lock")
    with open(path, "a+b") as lock:
        announced = False
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    log.info("another worker serves %s; standing by", parsed.database)
                    announced = True
                if stop.wait(1.0):
                    yield False
                    return
        try:
            yield True
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _install_signal_handlers(stop: threading.Event, wakeup: Wakeup) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(*_: object) -> None:
        stop.set()
        wakeup.interrupt()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
