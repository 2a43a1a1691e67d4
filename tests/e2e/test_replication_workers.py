"""A worker killed with SIGKILL in the middle of an upload: another ``preserve worker`` takes the
job once the lease runs out, finishes the copy without writing any object twice, and the SIP
becomes PRESERVED. The half-done multipart upload the dead worker left is found and aborted by
``preserve storage reconcile``."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from preserve.catalog.models import Job
from preserve.catalog.types import utcnow
from storage.replication_support import (
    CREDENTIALS,
    S3,
    Fs,
    bucket_name,
    one_job,
    push,
    write_profile,
)
from support.http import wait_for
from support.moto_server import MotoServer
from support.server import Server, cli_env, run_cli, start_worker, stop_process

pytestmark = pytest.mark.slow

BIG = os.urandom(8 * 1024 * 1024 + 3)


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
        server = Server(env, tmp_path, worker=False)  # it brings the schema up first
        first = second = None
        try:
            made = run_cli(
                env, "tokens", "create", "--agency", "records-office", "--role", "submitter"
            )
            assert made.returncode == 0, made.stderr
            headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
            first = start_worker(env, tmp_path / "worker-1.log")
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
                # the first copies go to both targets at once, inside the storage.store job
                orphaned = one_job(database_url, Job.kind == "storage.store")
                assert orphaned.state == "running" and orphaned.attempts == 1
                assert orphaned.locked_by.split(":")[1] == str(first.pid)
                assert orphaned.lease_until > utcnow(), "the dead worker's lease still holds"

                second = start_worker(env, tmp_path / "worker-2.log")
                sip = wait_for(
                    lambda: (
                        (s := client.get(f"/v1/sips/{sip_id}").json())["state"] == "PRESERVED" and s
                    ),
                    what="PRESERVED",
                )
        finally:
            for proc in (first, second):
                stop_process(proc)
            server.stop()

        job = one_job(database_url, Job.kind == "storage.store")
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
