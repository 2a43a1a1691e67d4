"""A real moto S3 server in a child process on a loopback port, for tests over real HTTP.

In-process mocking (``mock_aws``) patches botocore and never touches a socket, so it cannot
show what happens when the endpoint is down or a connection drops. This helper runs
``python -m moto.server`` as a subprocess instead; ``stop()`` and ``start()`` simulate an
outage on the same port. moto keeps its state in memory: every start begins empty.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
_DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
# Tests want an outage to surface at once, not after the retry budget of a real deployment.
FAST_FAIL = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=2,
    read_timeout=10,
    max_pool_connections=16,
    s3={"addressing_style": "path"},
)


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self._may_move = port is None  # until the first start succeeds
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server (again, on the same port) and wait until it answers HTTP."""
        if self.running:
            return
        atexit.register(self.stop)  # no orphan server when a script dies with an exception
        for _attempt in range(3):
            cmd = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
            env = {**os.environ, **_DUMMY_ENV}
            self._proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
            )
            if self._wait_until_up(timeout):
                self._may_move = False
                return
            if not self._may_move:
                break
            self.port = _free_port(self.host)  # someone took the port between pick and bind
        raise RuntimeError(f"moto server did not start on {self.endpoint}:\n{self._read_log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait until the port refuses connections."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while _answers_tcp(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def client(self, config: Config | None = None) -> Any:
        """A boto3 S3 client for this server with dummy credentials (no environment read)."""
        session = boto3.session.Session(
            aws_access_key_id=_DUMMY_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_DUMMY_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )
        return session.client("s3", endpoint_url=self.endpoint, config=config or FAST_FAIL)

    def make_bucket(self, name: str, versioning: bool = False, object_lock: bool = False) -> Any:
        """Create a bucket and return a client for it; Object Lock implies versioning."""
        client = self.client()
        client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)
        if versioning and not object_lock:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return client

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_up(self, timeout: float) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = None
                return False
            try:
                with opener.open(f"{self.endpoint}/moto-api/", timeout=1):
                    return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        self.stop()
        return False

    def _read_log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _answers_tcp(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
