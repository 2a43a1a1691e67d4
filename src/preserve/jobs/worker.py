"""The worker loop: claim a job, run it in its own session, record the outcome."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import traceback

from preserve.errors import PreserveError
from preserve.jobs import queue
from preserve.jobs.registry import handler_for, load_tasks
from preserve.jobs.scheduler import Ticker
from preserve.runtime import Runtime
from preserve.storage.base import StorageError

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def run_one(rt: Runtime, wid: str | None = None) -> bool:
    """Run at most one job; True if a job was run (whatever its outcome)."""
    wid = wid or worker_id()
    with rt.sessions.begin() as session:
        job = queue.claim(session, wid, rt.settings.job_lease_seconds)
        if job is None:
            return False
        job_id, kind, payload = job.id, job.kind, dict(job.payload)
    try:
        handler_for(kind)(rt, payload)
    except StorageError as exc:
        log.warning("job %s (%s) waits for storage: %s", job_id, kind, exc)
        with rt.sessions.begin() as session:
            queue.retry_later(session, job_id, wid, str(exc))
        return True
    except Exception as exc:
        message = str(exc) if isinstance(exc, PreserveError) else traceback.format_exc()
        log.error("job %s (%s) failed: %s", job_id, kind, exc)
        with rt.sessions.begin() as session:
            queue.fail(session, job_id, wid, message, rt.settings.job_max_attempts)
        return True
    with rt.sessions.begin() as session:
        queue.complete(session, job_id, wid)
    return True


def drain(rt: Runtime, max_jobs: int = 10_000) -> int:
    """Run runnable jobs until none is left (tests and one-shot CLI use)."""
    count = 0
    while count < max_jobs and run_one(rt):
        count += 1
    return count


def run_forever(rt: Runtime, stop: threading.Event | None = None) -> None:
    load_tasks()
    stop = stop or threading.Event()
    _install_signal_handlers(stop)
    wid = worker_id()
    log.info("worker %s started", wid)
    ticker = Ticker(rt)  # the scheduler tick (one process at a time)
    while not stop.is_set():
        ticker.maybe_run()
        try:
            ran = run_one(rt, wid)
        except Exception:
            log.exception("worker loop error; retrying")
            ran = False
        if not ran:
            stop.wait(rt.settings.worker_poll_seconds)
    log.info("worker %s stopped", wid)


def _install_signal_handlers(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
