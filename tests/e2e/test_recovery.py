"""A lost site, end to end against the real server, worker and command: 50 SIPs preserved on
two sites; one site's directory deleted entirely; downloads keep coming from the other site;
``preserve storage rebuild`` brings it back; the next audit finds every replica OK."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import bagit
import httpx
import pytest

from support.profiles import write_profile
from support.records import form, metadata
from support.server import Server, cli_env, run_cli

pytestmark = pytest.mark.slow

SIPS = 50


@pytest.fixture
def server_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    write_profile(tmp_path / "profiles", tmp_path / "stores")
    return cli_env(tmp_path / "var", database_url, tmp_path / "profiles")


def token(env: dict[str, str], agency: str, role: str) -> str:
    made = run_cli(env, "tokens", "create", "--agency", agency, "--role", role)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


def push_all(client: httpx.Client) -> list[str]:
    sip_ids = []
    for n in range(SIPS):
        files = {
            f"卷{n}/正文.txt": f"第{n}件\n".encode() * 200,
            f"卷{n}/附件.csv": b"a,b\n%d,1\n" % n,
        }
        meta = metadata(archival_code=f"A001-WS-2024-Y-{n:04d}", title=f"记录 {n}")
        accepted = client.post("/v1/sips", **form(files, meta))
        assert accepted.status_code == 202, accepted.text
        sip_ids.append(accepted.json()["id"])
    return sip_ids


def wait_preserved(client: httpx.Client, sip_ids: list[str], timeout: float = 900) -> list[str]:
    deadline = time.monotonic() + timeout
    pending = list(sip_ids)
    aips: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        sip = client.get(f"/v1/sips/{pending[0]}").json()
        if sip["state"] == "PRESERVED":
            aips[pending.pop(0)] = sip["aip_id"]
        else:
            time.sleep(0.2)
    states = [client.get(f"/v1/sips/{s}").json()["state"] for s in pending[:5]]
    assert not pending, f"{len(pending)} SIPs not PRESERVED in {timeout}s: {states}..."
    return [aips[s] for s in sip_ids]


def test_a_lost_site_is_rebuilt_while_downloads_go_on(tmp_path: Path, server_env):
    server = Server(server_env, tmp_path)
    try:
        submit = {"Authorization": f"Bearer {token(server_env, 'records-office', 'submitter')}"}
        ops = {"Authorization": f"Bearer {token(server_env, 'archive', 'ops')}"}
        with httpx.Client(base_url=server.url, headers=submit, timeout=60) as client:
            aip_ids = wait_preserved(client, push_all(client))

        shutil.rmtree(tmp_path / "stores" / "site-a-disk")

        with httpx.Client(base_url=server.url, headers=ops, timeout=60) as client:
            for n, aip_id in enumerate(aip_ids):
                path = quote(f"卷{n}/正文.txt")
                got = client.get(f"/v1/aips/{aip_id}/files/{path}")
                assert got.status_code == 200 and got.content == f"第{n}件\n".encode() * 200
                assert got.headers["x-preserve-target"] == "site-b-nas"
            whole = client.get(f"/v1/aips/{aip_ids[7]}/download")
            assert whole.headers["x-preserve-target"] == "site-b-nas"
            with zipfile.ZipFile(io.BytesIO(whole.content)) as zf:
                zf.extractall(tmp_path / "unzipped")
            bagit.Bag(str(tmp_path / "unzipped" / aip_ids[7])).validate()

            dry = run_cli(server_env, "storage", "rebuild", "site-a-disk", "--dry-run", "--json")
            assert dry.returncode == 0, dry.stderr
            assert json.loads(dry.stdout)["to_copy"] == SIPS
            assert not (tmp_path / "stores" / "site-a-disk").exists()

            rebuilt = run_cli(server_env, "storage", "rebuild", "site-a-disk", "--json")
            assert rebuilt.returncode == 0, rebuilt.stderr
            report = json.loads(rebuilt.stdout)
            assert (len(report["copied"]), report["failed"]) == (SIPS, [])

            again = run_cli(server_env, "storage", "rebuild", "site-a-disk", "--json")
            assert json.loads(again.stdout)["copied"] == []

            audit = run_cli(server_env, "audit", "run")
            assert audit.returncode == 0, audit.stdout + audit.stderr
            assert f"{2 * SIPS} replicas audited, {2 * SIPS} ok, 0 failed" in audit.stdout

            for aip_id in aip_ids:
                aip = client.get(f"/v1/aips/{aip_id}").json()
                assert {
                    (r["target"], r["state"], r["last_audit_outcome"]) for r in aip["replicas"]
                } == {
                    ("site-a-disk", "verified", "ok"),
                    ("site-b-nas", "verified", "ok"),
                }
            back = client.get(f"/v1/aips/{aip_ids[0]}/download?target=site-a-disk&format=tar")
            assert back.status_code == 200 and back.headers["x-preserve-target"] == "site-a-disk"
    finally:
        server.stop()
