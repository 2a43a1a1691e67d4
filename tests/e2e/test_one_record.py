"""The foundation's promise, end to end against a real uvicorn server and worker process:
push a PDF and a text file → PRESERVED with two verified replicas → audit all OK → flip one
byte in one replica → audit names the file and target and fails → restore from the other
target gives byte-identical files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from support.profiles import write_profile
from support.records import MINIMAL_PDF, form, metadata
from support.server import Server, cli_env, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def server_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    write_profile(tmp_path / "profiles", tmp_path / "stores")
    env = cli_env(tmp_path / "var", database_url, tmp_path / "profiles")
    return {**env, "PRESERVE_LOG_FORMAT": "json"}


def wait_for_state(client: httpx.Client, sip_id: str, state: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sip = client.get(f"/v1/sips/{sip_id}").json()
        if sip["state"] == state:
            return sip
        time.sleep(0.1)
    raise AssertionError(f"SIP {sip_id} stuck in {sip['state']}")


def test_push_preserve_audit_corrupt_restore(tmp_path: Path, server_env: dict[str, str]):
    server = Server(server_env, tmp_path)
    try:
        token = run_cli(
            server_env, "tokens", "create", "--agency", "records-office", "--role", "submitter"
        )
        assert token.returncode == 0, token.stderr
        plaintext = token.stdout.strip().splitlines()[-1]
        files = {"公文/通知.pdf": MINIMAL_PDF, "notes/readme.txt": b"plain text record\n" * 100}
        headers = {"Authorization": f"Bearer {plaintext}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            sent = {"X-Request-ID": "e2e-push-1"}
            accepted = client.post("/v1/sips", **form(files, metadata(), headers=sent))
            assert accepted.status_code == 202, accepted.text
            assert accepted.headers["X-Request-ID"] == "e2e-push-1"
            sip = wait_for_state(client, accepted.json()["id"], "PRESERVED")
            aip = client.get(f"/v1/aips/{sip['aip_id']}").json()
    finally:
        server.stop()

    _the_request_id_follows_the_record_into_its_jobs(server.log, "e2e-push-1")
    assert sorted(r["target"] for r in aip["replicas"] if r["state"] == "verified") == [
        "site-a-disk",
        "site-b-nas",
    ]
    assert {f["path"]: f["puid"] for f in aip["files"]}["公文/通知.pdf"].startswith("fmt/")

    clean = run_cli(server_env, "audit", "run")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "2 replicas audited, 2 ok, 0 failed" in clean.stdout

    aip_dir = next((tmp_path / "stores" / "site-a-disk" / "aips").glob(f"*/*/{aip['id']}"))
    victim = aip_dir / "data" / "notes" / "readme.txt"
    data = bytearray(victim.read_bytes())
    data[10] ^= 0x01
    victim.write_bytes(bytes(data))

    dirty = run_cli(server_env, "audit", "run")
    assert dirty.returncode == 1
    assert "site-a-disk" in dirty.stdout and "notes/readme.txt" in dirty.stdout
    assert "mismatch" in dirty.stdout

    out = tmp_path / "restored"
    restored = run_cli(server_env, "restore", aip["id"], "--from", "site-b-nas", "--to", str(out))
    assert restored.returncode == 0, restored.stderr
    for path, content in files.items():
        assert (out / path).read_bytes() == content

    bad = run_cli(
        server_env, "restore", aip["id"], "--from", "site-a-disk", "--to", str(tmp_path / "bad")
    )
    assert bad.returncode != 0
    last_line = bad.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: site-a-disk: data/notes/readme.txt has sha256")
    assert not (tmp_path / "bad").exists()
    assert not list(tmp_path.glob(".bad.partial-*"))


def _the_request_id_follows_the_record_into_its_jobs(log: Path, rid: str) -> None:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == rid]
    access = [line for line in mine if line["logger"] == "preserve.access"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [("POST", "/v1/sips", 202)]
    done = {
        line["message"].split("(")[1].split(")")[0] for line in mine if "done" in line["message"]
    }
    assert {"ingest.process", "storage.store"} <= done, "both copies made by storage.store"
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
