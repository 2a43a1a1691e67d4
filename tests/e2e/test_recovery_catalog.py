"""A lost database, end to end: records preserved on a disk and on S3 (a real moto server over
HTTP); the database deleted; ``preserve catalog rebuild --from`` the S3 target alone; the API,
served again by the real server, answers every record's queries as before, field by field, but
for what the rebuild's report names as lost or approximated."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import create_engine, text

from support.moto_server import MotoServer
from support.profiles import write_disk_and_s3_profile
from support.records import MINIMAL_PDF, form, metadata
from support.server import Server, cli_env, run_cli

pytestmark = pytest.mark.slow

RECORDS = 8
# Fields no bag carries, and the entry of the rebuild report that names each.
EXPECTED_DIFFERENCES = {
    "sip.updated_at": "SIP updated_at",
    "aip.replicas.verified_time": "replica history",
    "aip.replicas.last_audit_time": "replica history",
    "aip.replicas.last_audit_outcome": "replica history",
}


@pytest.fixture
def moto():
    with MotoServer() as server:
        server.make_bucket("aips-b")
        yield server


@pytest.fixture
def env(tmp_path: Path, database_url: str, moto: MotoServer) -> dict[str, str]:
    profiles = write_disk_and_s3_profile(
        tmp_path / "profiles", tmp_path / "stores" / "site-a-disk", moto.endpoint, "aips-b"
    )
    values = cli_env(tmp_path / "var", database_url, profiles)
    values.update(STORE_B_KEY="testing", STORE_B_SECRET="testing")
    return values


def token(env: dict[str, str], agency: str, role: str) -> dict[str, str]:
    made = run_cli(env, "tokens", "create", "--agency", agency, "--role", role)
    assert made.returncode == 0, made.stderr
    return {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}


def push(server: Server, headers: dict[str, str], n: int) -> str:
    files = {f"案卷/{n}/通知.pdf": MINIMAL_PDF, f"案卷/{n}/说明.txt": f"说明 {n}\n".encode() * 40}
    meta = metadata(archival_code=f"A001-WS-2024-Y-{n:04d}", title=f"关于第{n}号档案的通知")
    response = httpx.post(f"{server.url}/v1/sips", **form(files, meta, headers=headers))
    assert response.status_code == 202, response.text
    return response.json()["id"]


def aip_ids_when_preserved(server: Server, headers, sip_ids: list[str]) -> list[str]:
    deadline = time.monotonic() + 600
    found: dict[str, str] = {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        while len(found) < len(sip_ids) and time.monotonic() < deadline:
            for sip_id in set(sip_ids) - set(found):
                sip = client.get(f"/v1/sips/{sip_id}").json()
                if sip["state"] == "PRESERVED":
                    found[sip_id] = sip["aip_id"]
            time.sleep(0.3)
    assert len(found) == len(sip_ids), "not every SIP was PRESERVED in time"
    return [found[s] for s in sip_ids]


def answers(server: Server, headers, aip_ids: list[str]) -> dict[str, dict]:
    """Every query the API answers about each record: AIP, SIP, receipt, and each file."""
    out = {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for aip_id in aip_ids:
            aip = client.get(f"/v1/aips/{aip_id}").json()
            sip = client.get(f"/v1/sips/{aip['sip_id']}").json()
            receipt = client.get(f"/v1/sips/{aip['sip_id']}/receipt")
            files = {}
            for f in aip["files"]:
                got = client.get(f"/v1/aips/{aip_id}/files/{quote(f['path'])}")
                keep = ("etag", "repr-digest", "content-length", "content-type")
                files[f["path"]] = {
                    "status": got.status_code,
                    "sha256": got.headers.get("etag"),
                    "headers": {h: got.headers.get(h) for h in keep},
                }
            out[aip_id] = {
                "aip": aip,
                "sip": sip,
                "receipt": {"status": receipt.status_code, "body": receipt.json()},
                "files": files,
            }
    return out


def differences(before, after, path: str = "") -> dict[str, tuple]:
    if isinstance(before, dict) and isinstance(after, dict):
        out = {}
        for key in before.keys() | after.keys():
            out.update(differences(before.get(key), after.get(key), f"{path}.{key}".lstrip(".")))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = {}
        for b, a in zip(before, after, strict=True):
            out.update(differences(b, a, path))
        return out
    return {} if before == after else {path: (before, after)}


def delete_database(env: dict[str, str], database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    # an empty catalogue first: read commands refuse where there is none (exit 2)
    upgraded = run_cli(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr


def test_the_catalogue_comes_back_from_s3_alone(tmp_path: Path, env, database_url):
    server = Server(env, tmp_path)
    try:
        agency_a = token(env, "records-office", "submitter")
        agency_b = token(env, "finance-bureau", "submitter")
        sips = [push(server, agency_a if n % 3 else agency_b, n) for n in range(RECORDS)]
        aip_ids = aip_ids_when_preserved(server, token(env, "archive", "officer"), sips)
        audited = run_cli(env, "audit", "run")
        assert audited.returncode == 0, audited.stdout + audited.stderr
        before = answers(server, token(env, "archive", "officer"), aip_ids)
    finally:
        server.stop()

    delete_database(env, database_url, tmp_path)
    rebuilt = run_cli(env, "catalog", "rebuild", "--from", "object-store-b", "--json")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    report = json.loads(rebuilt.stdout)
    assert report["aips_catalogued"] == RECORDS and report["unverifiable"] == []
    assert report["agencies"] == 2
    assert report["replicas"] == {"object-store-b": RECORDS, "site-a-disk": RECORDS}

    server = Server(env, tmp_path)
    try:
        after = answers(server, token(env, "archive", "officer"), aip_ids)
    finally:
        server.stop()
    expected = dict(EXPECTED_DIFFERENCES)
    if "AIP created_at" in report["approximated"]:
        expected["aip.created_at"] = "AIP created_at"
    diffs = {}
    for aip_id in aip_ids:
        diffs.update(differences(before[aip_id], after[aip_id]))
        if "aip.created_at" in expected:
            was = datetime.fromisoformat(before[aip_id]["aip"]["created_at"])
            now = datetime.fromisoformat(after[aip_id]["aip"]["created_at"])
            assert abs((now - was).total_seconds()) < 5
    assert set(diffs) == set(expected), json.dumps(
        {k: [str(v) for v in pair] for k, pair in diffs.items()}, ensure_ascii=False, indent=1
    )
    for field, entry in expected.items():
        assert entry in report["lost"] or entry in report["approximated"], field
    assert all(a["sip"]["state"] == "PRESERVED" for a in after.values())
    assert all(f["status"] == 200 for a in after.values() for f in a["files"].values())
