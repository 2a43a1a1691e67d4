"""A worker killed with SIGKILL in the middle of an upload: another ``preserve worker`` takes the
job once the lease runs out, finishes the copy without writing any object twice, and the SIP
becomes PRESERVED. The half-done multipart upload the dead worker left is found and aborted by
``preserve storage reconcile``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from preserve.catalog.db import make_engine
from preserve.catalog.models import Job
from preserve.catalog.types import utcnow
from storage.replication_support import CREDENTIALS, S3, Fs, bucket_name, push, write_profile
from support.http import wait_for
from support.moto_server import MotoServer
from support.server import Server, cli_env, run_cli

pytestmark = pytest.mark.slow

BIG = os.urandom(8 * 1024 * 1024 + 3)


def worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "preserve", "worker"],
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
    )


def copy_job(database_url: str, target: str) -> Job:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            job = session.scalars(select(Job).where(Job.resource == f"target:{target}")).one()
            session.expunge(job)
            return job
    finally:
        engine.dispose()


def test_a_killed_worker_s_copy_is_finished_by_another(tmp_path, database_url):
    with MotoServer() as site_b:
        s3_b = S3(
            "s3-b",
            "site-b",
            "object-storage",
            site_b,
            bucket_name(),
            versioning=True,
            extra="max_write_mbps = 2\n",
        )
        s3_b.make_bucket()
        disk = Fs("local-disk", "site-a", "disk", tmp_path / "stores" / "local-disk")
        profile = write_profile(tmp_path / "profiles", "local", [disk, s3_b], copies=2, sites=2)
        env = cli_env(tmp_path / "var", database_url, profile.parent)
        env.update(CREDENTIALS)
        env.update(PRESERVE_JOB_LEASE_SECONDS="5", PRESERVE_WORKER_POLL_SECONDS="0.1")
        server = _serve_without_worker(env, tmp_path)  # it brings the schema up first
        first = second = None
        try:
            made = run_cli(
                env, "tokens", "create", "--agency", "records-office", "--role", "submitter"
            )
            assert made.returncode == 0, made.stderr
            headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
            first = worker(env, tmp_path / "worker-1.log")
            files = {"big.bin": BIG, **{f"small/{i}.txt": f"{i}\n".encode() for i in range(5)}}
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
                sip_id = push(client, None, files)
                b = s3_b.client()
                wait_for(
                    lambda: b.list_multipart_uploads(Bucket=s3_b.bucket).get("Uploads"),
                    what="the upload to s3-b under way",
                )
                first.send_signal(signal.SIGKILL)
                first.wait(10)
                half_done = b.list_multipart_uploads(Bucket=s3_b.bucket)["Uploads"]
                orphaned = copy_job(database_url, "s3-b")
                assert orphaned.state == "running" and orphaned.attempts == 1
                assert orphaned.locked_by.split(":")[1] == str(first.pid)
                assert orphaned.lease_until > utcnow(), "the dead worker's lease still holds"

                second = worker(env, tmp_path / "worker-2.log")
                sip = wait_for(
                    lambda: (
                        (s := client.get(f"/v1/sips/{sip_id}").json())["state"] == "PRESERVED" and s
                    ),
                    what="PRESERVED",
                )
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(30)
            server.stop()

        job = copy_job(database_url, "s3-b")
        assert job.state == "done" and job.attempts == 2, "claimed twice, done once"
        assert job.locked_by.split(":")[1] == str(second.pid)
        versions, markers = s3_b.versions()
        assert markers == [] and versions == s3_b.object_keys(), "no object written twice"
        assert sum(k.endswith(f"{sip['aip_id']}/data/big.bin") for k in versions) == 1

        reconciled = run_cli(
            env, "storage", "reconcile", "s3-b", "--abort-uploads-after-hours", "0"
        )
        assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
        assert "unfinished upload" in reconciled.stdout
        assert half_done[0]["Key"].endswith("data/big.bin")
        assert b.list_multipart_uploads(Bucket=s3_b.bucket).get("Uploads", []) == []


def _serve_without_worker(env: dict[str, str], cwd: Path) -> Server:
    """``preserve serve --no-worker``: the workers in this test are ours to kill."""

    class _NoWorker(Server):
        def __init__(self, env: dict[str, str], cwd: Path) -> None:
            from support.server import free_port

            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.log = cwd / "serve.log"
            self._log_file = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "preserve",
                    "serve",
                    "--port",
                    str(self.port),
                    "--no-worker",
                ],
                env=env,
                cwd=cwd,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
            )
            self._wait_healthy()

    return _NoWorker(env, cwd)
