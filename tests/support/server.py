"""Run the real ``preserve`` command: a uvicorn server with its worker, and one-shot CLI calls."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(data_dir: Path, database_url: str, profiles_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESERVE_")}
    env.update(
        PRESERVE_DATA_DIR=str(data_dir),
        PRESERVE_DATABASE_URL=database_url,
        PRESERVE_PROFILES_DIR=str(profiles_dir),
        PRESERVE_STORAGE_PROFILE="local",
        PRESERVE_IDENTIFY_WORKERS="1",
        COLUMNS="200",
    )
    return env


def run_cli(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preserve", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


class Server:
    """``preserve serve`` in a child process on a free loopback port."""

    def __init__(self, env: dict[str, str], cwd: Path, *, worker: bool = True) -> None:
        """``worker=False``: ``serve --no-worker``, for tests whose workers are theirs to kill
        (see :func:`start_worker`)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / "serve.log"
        self._log_file = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        extra = [] if worker else ["--no-worker"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "preserve", "serve", "--port", str(self.port), *extra],
            env=env,
            cwd=cwd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not healthy in {timeout}s: {self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log_file.close()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """A standalone ``preserve worker`` whose output goes to ``log``."""
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "preserve", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_process(proc: subprocess.Popen | None) -> None:
    """Terminate a child if it still runs (killed after 30 s)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
