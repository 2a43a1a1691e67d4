"""The data directory full, end to end (issue 11, Done-when): a push answers 507 problem+json
and leaves nothing in staging; a worker that meets the full disk while it packages backs off
with one log line per step; once space is freed everything reaches PRESERVED.

A real ``preserve serve`` and ``preserve worker`` run on a data directory that is a small
tmpfs (needs root to mount; skipped with the reason elsewhere). The worker starts after the
202 and after the disk is filled again, so it meets the full disk on its first try, not by a
race."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from preserve.catalog.models import Job
from storage.replication_support import one_job, push, record_metadata
from support.http import wait_for
from support.profiles import write_profile
from support.records import form
from support.server import Server, cli_env, run_cli, start_worker, stop_process
from support.tmpfs import fill, tmpfs

pytestmark = pytest.mark.slow

FILES = {f"part-{i}.bin": bytes([i]) * (512 * 1024) for i in range(4)}  # 2 MiB
STEPS = 3  # back-off steps to see before the space is freed


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def state(client: httpx.Client, sip_id: str) -> str:
    return client.get(f"/v1/sips/{sip_id}").json()["state"]


def test_a_full_data_directory_refuses_backs_off_and_completes_once_freed(tmp_path, database_url):
    def backed_off(database_url: str, log: Path) -> bool:
        return one_job(database_url, Job.kind == "ingest.process").waits >= STEPS

    log, job = full_disk_run(tmp_path, lambda var: database_url, backed_off)

    assert (job.state, job.attempts) == ("done", 1), job.last_error  # waits spend none
    steps = [line for line in log if f"job {job.id} (ingest.process) waits:" in line]
    assert len(steps) == job.waits >= STEPS, log  # one line per back-off step
    assert all("the disk is full" in line for line in steps)
    full = [line for line in log if "No space left" in line]
    assert full == steps, full  # no other line (no traceback) about it: not a flood


def test_with_the_embedded_catalogue_in_the_full_directory_too(tmp_path):
    """The default deployment: SQLite's file is in the data directory and fills up with it;
    the worker cannot even claim, and its loop backs off with one line per step."""

    def backed_off(database_url: str, log: Path) -> bool:
        return f"failure {STEPS}, next try" in log.read_text()

    log, job = full_disk_run(tmp_path, lambda var: f"sqlite:///{var / 'preserve.db'}", backed_off)

    assert job.state == "done", job.last_error
    said = [json.loads(line) for line in log if "full" in line]
    steps = [d["message"] for d in said if d["message"].startswith("worker cannot work")]
    numbers = [int(m.split("failure ")[1].split(",")[0]) for m in steps]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= STEPS, steps
    waits = [d for d in said if "waits: the disk is full" in d["message"]]
    assert len(said) == len(steps) + len(waits), said  # nothing else says it
    assert sum(d["logger"] == "preserve.jobs.scheduler" for d in waits) <= 1  # said once
    assert not any("exc_info" in d for d in said)  # no traceback for a full disk


def full_disk_run(
    tmp_path: Path,
    database_url_in: Callable[[Path], str],
    backed_off: Callable[[str, Path], bool],
) -> tuple[list[str], Job]:
    """Push into a full data directory (507), fill it again after a 202, start the worker,
    wait for its back-off steps, free the space and wait for PRESERVED: the worker's log
    lines and the ingest job."""
    write_profile(tmp_path / "profiles", tmp_path / "stores")
    with tmpfs(tmp_path / "var", "24m") as var:
        database_url = database_url_in(var)
        env = cli_env(var, database_url, tmp_path / "profiles")
        env.update(PRESERVE_STORAGE_RETRY_MAX_SECONDS="2", PRESERVE_WORKER_POLL_SECONDS="0.1")
        server = Server(env, tmp_path, worker=False)  # the worker starts once the disk is full
        worker = None
        filler = var / "filler"
        try:
            made = run_cli(env, "tokens", "create", "--agency", "office", "--role", "submitter")
            assert made.returncode == 0, made.stderr
            headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
                staged = entries(var / "staging")
                assert fill(filler) > 0
                refused = client.post("/v1/sips", **form(FILES, record_metadata()))
                assert refused.status_code == 507, refused.text
                assert refused.headers["content-type"].startswith("application/problem+json")
                assert refused.json()["type"].endswith("/insufficient-storage")
                assert entries(var / "staging") == staged  # nothing half-written left

                filler.unlink()
                sip_id = push(client, None, FILES)
                fill(filler)  # the SIP is received; its packaging will meet a full disk
                worker = start_worker(env, tmp_path / "worker.log")
                wait_for(
                    lambda: backed_off(database_url, tmp_path / "worker.log"),
                    what=f"{STEPS} back-off steps",
                )
                assert state(client, sip_id) == "RECEIVED"
                filler.unlink()
                wait_for(lambda: state(client, sip_id) == "PRESERVED", what="PRESERVED")
        finally:
            stop_process(worker)
            server.stop()
            filler.unlink(missing_ok=True)
        job = one_job(database_url, Job.kind == "ingest.process")
    return (tmp_path / "worker.log").read_text().splitlines(), job
