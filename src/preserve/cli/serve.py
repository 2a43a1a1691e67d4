"""``preserve serve`` and ``preserve worker``."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

import typer
import uvicorn

from preserve.catalog.db import is_empty, make_engine, upgrade
from preserve.cli.common import console, keep_files_private, open_runtime
from preserve.logs import configure as configure_logs
from preserve.settings import Settings

log = logging.getLogger("preserve.serve")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    worker: bool = typer.Option(True, help="Supervise one worker process beside the API."),
) -> None:
    """Run the API with a worker process beside it: one command runs everything."""
    _logging()
    settings = Settings()
    prepare(settings)
    child = _WorkerSupervisor() if worker else None
    if child:
        child.start()
    _exit_cleanly_on_signals()
    try:
        # By name: the CLI and the API are two faces over the domain and never import each
        # other; uvicorn imports the app factory.
        uvicorn.run(
            "preserve.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            log_config=None,  # preserve.logs configured every logger already
        )
    finally:
        if child:
            child.stop()


def _exit_cleanly_on_signals() -> None:
    """uvicorn re-raises the signal that stopped it once it has shut down; with the default
    handler that kills the process before ``finally`` can stop the worker child. A handler of
    our own turns it into SystemExit, so the child is always stopped with the server."""

    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def worker() -> None:
    """Claim and run background jobs until stopped (SIGTERM or Ctrl-C)."""
    _logging()
    keep_files_private(Settings())
    from preserve.jobs.worker import run_forever

    with open_runtime(create=True) as rt:
        run_forever(rt)


def prepare(settings: Settings) -> None:
    """Data directory, schema (the embedded SQLite upgrades itself) and the signing key."""
    keep_files_private(settings)
    settings.staging_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not settings.key_passphrase:
        log.warning(
            "the archive's private keys are not encrypted at rest: set PRESERVE_KEY_PASSPHRASE"
        )
    engine = make_engine(settings.sqlalchemy_url)
    try:
        if is_empty(engine):
            upgrade(settings.sqlalchemy_url)
    finally:
        engine.dispose()
    with open_runtime(create=True) as rt:
        rt.profile()  # a default profile that cannot work stops the start here
        console.print(f"data directory {settings.resolved_data_dir}", highlight=False)
        console.print(f"archive signing key {rt.signing_key.key_id}", highlight=False)


class _WorkerSupervisor:
    """Keeps one ``preserve worker`` child process alive; restarts it if it dies."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        self._proc = subprocess.Popen([sys.executable, "-m", "preserve", "worker"])

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            if self._proc is not None and self._proc.poll() is not None:
                log.warning("worker exited with %s; restarting", self._proc.returncode)
                time.sleep(1.0)
                self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def _logging() -> None:
    settings = Settings()
    configure_logs(settings.log_format, settings.log_level)
