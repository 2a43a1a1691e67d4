"""A worker SIGKILLed mid-write (issue 11, Done-when): after ``storage reconcile
--debris-after-minutes 0`` the stores hold nothing but complete AIP bags, and a restarted
worker takes its job up at once and brings the SIP to PRESERVED.

A real ``preserve worker`` writes an 8 MiB payload to a filesystem target capped at 2 MB/s;
the test waits until that file's ``.preserve-tmp-*`` has grown past 1 MiB (the copy is under
way, no sleep) and kills the worker there. The second target is S3 on a moto server."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import bagit
import httpx
import pytest

from preserve.aip.layout import aip_prefix
from preserve.catalog.models import Job
from preserve.catalog.types import utcnow
from preserve.storage.filesystem import TMP_PREFIX
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
LEASE = 15  # seconds: the take-up bound of the Done-when, for a worker on any host
HALF_WRITTEN = 1024 * 1024


def half_written(root: Path) -> Path | None:
    """A temporary file of a filesystem store grown past 1 MiB: a large copy under way."""
    for path in root.rglob(f"{TMP_PREFIX}*"):
        try:
            if path.stat().st_size >= HALF_WRITTEN:
                return path
        except FileNotFoundError:  # renamed into place meanwhile
            continue
    return None


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def only_whole_bags(root: Path, aip_ids: list[str]) -> None:
    """Every file under ``root`` belongs to one of these AIPs' bags, and each bag is valid."""
    bags = [root / aip_prefix(a) for a in aip_ids]
    for bag in bags:
        bagit.Bag(str(bag)).validate()
    assert files_under(root) == set().union(*(files_under(b) for b in bags))


def s3_holds_only(s3: S3, aip_ids: list[str]) -> None:
    keys = s3.object_keys()
    assert keys and all(any(k.startswith(aip_prefix(a)) for a in aip_ids) for k in keys), keys
    assert s3.client().list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def preserved(client: httpx.Client, sip_id: str) -> dict | None:
    sip = client.get(f"/v1/sips/{sip_id}").json()
    return sip if sip["state"] == "PRESERVED" else None


def reconcile(env: dict[str, str], target: str) -> str:
    done = run_cli(
        env,
        "storage",
        "reconcile",
        target,
        "--debris-after-minutes",
        "0",
        "--abort-uploads-after-hours",
        "0",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_worker_killed_mid_write_leaves_only_aips_and_its_job_is_taken_up(
    tmp_path, database_url, record_property
):
    with MotoServer() as site_b:
        s3 = S3("s3-b", "site-b", "object-storage", site_b, bucket_name())
        s3.make_bucket()
        fs = Fs("fs-a", "site-a", "disk", tmp_path / "stores" / "fs-a", "max_write_mbps = 2\n")
        profile = write_profile(tmp_path / "profiles", "local", [fs, s3], copies=2, sites=2)
        env = cli_env(tmp_path / "var", database_url, profile.parent) | CREDENTIALS
        env.update(PRESERVE_JOB_LEASE_SECONDS=str(LEASE), PRESERVE_WORKER_POLL_SECONDS="0.1")
        server = Server(env, tmp_path, worker=False)  # the workers are the test's to kill
        first = second = None
        try:
            made = run_cli(env, "tokens", "create", "--agency", "office", "--role", "submitter")
            assert made.returncode == 0, made.stderr
            headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
            first = start_worker(env, tmp_path / "worker-1.log")
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
                kept_sip = push(client, None, {"kept.txt": b"kept\n"})
                kept = wait_for(lambda: preserved(client, kept_sip), what="the first SIP")
                sip_id = push(client, None, {"big.bin": BIG, "small.txt": b"small\n"})
                debris = wait_for(lambda: half_written(fs.root), what="big.bin half-written")

                first.send_signal(signal.SIGKILL)
                first.wait(10)
                killed_at = utcnow()
                assert debris.exists(), "the kill left a half-written file behind"
                orphan = one_job(database_url, Job.state == "running")
                assert orphan.kind == "storage.store"
                assert orphan.locked_by.split(":")[1] == str(first.pid)
                # Lease logic: whatever host a new worker runs on, the dead worker's lease has
                # run out at most LEASE seconds after the kill (renewed every LEASE / 3).
                assert orphan.lease_until <= killed_at + timedelta(seconds=LEASE)

                assert "; 1 debris (" in reconcile(env, "fs-a")
                reconcile(env, "s3-b")
                only_whole_bags(fs.root, [kept["aip_id"]])  # the debris and nothing else gone
                s3_holds_only(s3, [kept["aip_id"]])

                restarted_at = utcnow()
                second = start_worker(env, tmp_path / "worker-2.log")
                taken = wait_for(
                    lambda: (
                        (j := one_job(database_url, Job.id == orphan.id)).locked_by
                        != orphan.locked_by
                        and j
                    ),
                    what="the job taken up",
                )
                taken_up_after = (utcnow() - restarted_at).total_seconds()
                sip = wait_for(lambda: preserved(client, sip_id), what="PRESERVED")
        finally:
            stop_process(first)
            stop_process(second)
            server.stop()

        assert taken.locked_by.split(":")[1] == str(second.pid)
        log = (tmp_path / "worker-2.log").read_text()
        assert f"job {orphan.id}: its worker is gone; taken up again now" in log, log
        record_property("taken_up_seconds_after_restart", round(taken_up_after, 2))
        print(f"job taken up {taken_up_after:.2f} s after the restart (polled every 0.1 s)")
        done = one_job(database_url, Job.id == orphan.id)
        assert (done.state, done.attempts) == ("done", 2)
        aips = [kept["aip_id"], sip["aip_id"]]
        only_whole_bags(fs.root, aips)
        s3_holds_only(s3, aips)
        assert "; 0 debris (" in reconcile(env, "fs-a")
