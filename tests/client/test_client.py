"""``preserve.client`` against a real ``preserve serve`` (one server for the module)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from preserve.client import Client, DigestMismatch, NotFound, ReceiptInvalid, Unauthorized
from preserve.client import receipts as client_receipts
from support.databases import PG_ENV, throwaway_database
from support.profiles import write_profile
from support.records import MINIMAL_PDF, metadata
from support.server import Server, cli_env, run_cli

pytestmark = pytest.mark.slow


def _database(kind: str, tmp: Path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'catalogue.db'}"
        return
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"{PG_ENV} not set: PostgreSQL cases skipped")
    with throwaway_database(admin_url, "preserve_client") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, tmp_path_factory):
    """A served archive with a submitter of each of two agencies and an officer."""
    tmp = tmp_path_factory.mktemp(f"client-{request.param}")
    databases = _database(request.param, tmp)
    url = next(databases)
    write_profile(tmp / "profiles", tmp / "stores")
    env = cli_env(tmp / "var", url, tmp / "profiles")
    if request.param != "sqlite":
        assert run_cli(env, "db", "upgrade").returncode == 0
    server = Server(env, tmp)

    def token(agency: str, role: str) -> str:
        made = run_cli(env, "tokens", "create", "--agency", agency, "--role", role)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().splitlines()[-1]

    try:
        yield (
            server.url,
            {
                "a": token("agency-a", "submitter"),
                "b": token("agency-b", "submitter"),
                "officer": token("agency-a", "officer"),
            },
            tmp,
        )
    finally:
        server.stop()
        next(databases, None)


def record(tmp: Path, name: str) -> Path:
    root = tmp / name
    (root / "附件").mkdir(parents=True, exist_ok=True)
    (root / "notice.pdf").write_bytes(MINIMAL_PDF)
    (root / "附件" / "scan.bin").write_bytes(os.urandom(300_000))
    return root


@pytest.fixture(scope="module")
def preserved(archive):
    """One record of agency-a pushed (its large file as a resumable upload) and preserved."""
    url, tokens, tmp = archive
    with Client(url, tokens["a"]) as client:
        meta = metadata(title="档案移交清单 annual transfer", archival_code="A001-CL-0001")
        pushed = client.push(record(tmp, "rec1"), meta, large_bytes=100_000)
        sip = client.wait(pushed.sip_id, timeout=120)
    return pushed, sip


def test_push_is_idempotent_and_reaches_preserved_with_a_verified_receipt(archive, preserved):
    url, tokens, tmp = archive
    pushed, sip = preserved
    assert sip.state == "PRESERVED" and sip.aip_id
    with Client(url, tokens["a"]) as client:
        meta = metadata(title="档案移交清单 annual transfer", archival_code="A001-CL-0001")
        again = client.push(tmp / "rec1", meta, large_bytes=100_000)
        assert again.replayed and again.sip_id == pushed.sip_id
        signed = client.receipt(pushed.sip_id)
        assert signed.verified and signed.receipt["sip_id"] == pushed.sip_id
        forged = json.loads(signed.document)
        forged["receipt"]["total_bytes"] += 1
        keys = client_receipts.trusted_keys(client.call("GET", "/v1/keys").json())
        with pytest.raises(ReceiptInvalid, match="does not match"):
            client_receipts.verify(forged, keys)


def test_get_list_iterate_search_and_count(archive, preserved):
    url, tokens, _tmp = archive
    _pushed, sip = preserved
    with Client(url, tokens["a"]) as client:
        aip = client.get_aip(sip.aip_id)
        assert {f.path for f in aip.files} == {"notice.pdf", "附件/scan.bin"}
        page = client.list_aips(archival_code="A001-CL-0001", limit=1)
        assert [i.id for i in page.items] == [aip.id]
        assert [i.id for i in client.iter_sips(limit=1)] == [sip.id]
        found = list(client.search("档案"))
        assert [(i.id, i.matched_fields) for i in found] == [(aip.id, ["title"])]
        assert list(client.search("ANNUAL")) == found
        stats = client.statistics("agency")
        assert [(r.key, r.records, r.files) for r in stats.rows] == [("agency-a", 1, 2)]
    with Client(url, tokens["b"]) as other:  # another agency sees nothing of it
        assert list(other.iter_aips()) == [] and list(other.search("档案")) == []
        assert other.statistics("fonds").rows == []
        with pytest.raises(NotFound):
            other.get_aip(aip.id)


def test_downloads_are_verified(archive, preserved, tmp_path):
    url, tokens, tmp = archive
    _pushed, sip = preserved
    with Client(url, tokens["officer"]) as client:
        got = client.download_file(sip.aip_id, "附件/scan.bin", tmp_path / "scan.bin")
        assert got.read_bytes() == (tmp / "rec1" / "附件" / "scan.bin").read_bytes()
        for fmt in ("zip", "tar"):
            bag = client.download_aip(sip.aip_id, tmp_path / f"aip.{fmt}", fmt)
            assert bag.stat().st_size > 300_000


def test_a_tampered_download_is_refused(archive, preserved, tmp_path, monkeypatch):
    url, tokens, _tmp = archive
    _pushed, sip = preserved
    from preserve.client import api

    monkeypatch.setattr(api, "_repr_digest", lambda _header: {"sha-256": "AAAA"})
    with Client(url, tokens["officer"]) as client, pytest.raises(DigestMismatch):
        client.download_file(sip.aip_id, "notice.pdf", tmp_path / "notice.pdf")
    assert not (tmp_path / "notice.pdf").exists()


def test_problems_become_exceptions(archive):
    url, _tokens, _tmp = archive
    with Client(url, "not-a-token") as client, pytest.raises(Unauthorized) as caught:
        client.list_aips()
    assert caught.value.status == 401 and caught.value.type.endswith("/unauthorized")


def test_the_client_imports_nothing_of_the_server():
    import subprocess
    import sys

    code = (
        "import sys, preserve.client; "
        "print(sorted(m for m in sys.modules if m.startswith('preserve')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    allowed = {"preserve", "preserve.digests"}
    assert {m for m in eval(loaded.stdout) if not m.startswith("preserve.client")} <= allowed
