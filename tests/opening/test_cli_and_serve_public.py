"""``preserve opening due|publish`` and ``preserve serve-public`` (the public face alone, read
only) against the test's archive."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import text

from preserve.opening import catalogue
from support.cli import env_for, preserve
from support.ingest import ingest
from support.opening import People, open_records, text_pdf
from support.server import free_port


def _two_records(rt, client, make_token):
    people = People(make_token)
    files = {"doc.pdf": text_pdf("Harbour ledger")}
    opened = ingest(rt, client, make_token, files, title="开放的港口档案",
                    archival_code="A001-WS-1990-Y-0201", date="1990-02-01")  # fmt: skip
    kept = ingest(rt, client, make_token, files, title="控制的档案",
                  archival_code="A001-WS-1990-Y-0202", date="1990-03-01")  # fmt: skip
    open_records(rt, client, people, opened)
    return opened, kept


def test_opening_due_and_publish_on_the_command_line(rt, client, make_token, settings):
    opened, kept = _two_records(rt, client, make_token)
    due = preserve(settings, "opening", "due", "--as-of", "2026-01-01", "--format", "json")
    assert due.returncode == 0, due.stderr
    assert [i["aip_id"] for i in json.loads(due.stdout)] == [kept]  # the open one is not due
    assert preserve(settings, "opening", "due", "--as-of", "2026-13-01").returncode == 2

    made = preserve(
        settings, "opening", "publish", "--from", "2000-01-01", "--to", "2100-12-31",
        "--format", "json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    document = json.loads(made.stdout)
    assert [e["id"] for e in document["catalogue"]["entries"]] == [opened]
    assert document["catalogue"]["entries"][0]["title"] == "开放的港口档案"
    catalogue.verify_document(document, rt.keyring.trusted())
    as_csv = preserve(
        settings, "opening", "publish", "--from", "2000-01-01", "--to", "2100-12-31",
        "--format", "csv",
    )  # fmt: skip
    assert "开放的港口档案" in as_csv.stdout and kept not in as_csv.stdout
    listed = client.get("/public/v1/catalogues").json()
    assert len(listed) == 2 and all(c["record_count"] == 1 for c in listed)
    backwards = preserve(
        settings, "opening", "publish", "--from", "2020-01-02", "--to", "2020-01-01"
    )
    assert backwards.returncode != 0 and "error:" in backwards.stderr


def test_the_public_engine_cannot_write(rt):
    with pytest.raises(Exception) as caught, rt.readonly_sessions.begin() as session:
        session.execute(text("DELETE FROM public_records"))
    assert "read" in str(caught.value).lower()


@pytest.mark.slow
def test_serve_public_runs_alone(rt, client, make_token, settings, tmp_path):
    opened, kept = _two_records(rt, client, make_token)
    port = free_port()
    log = open(tmp_path / "public.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "preserve", "serve-public", "--port", str(port)],
        env=env_for(settings), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        from support.http import wait_for

        def up():
            try:
                return httpx.get(f"{base}/public/v1/records", timeout=2)
            except httpx.HTTPError:
                assert proc.poll() is None, (tmp_path / "public.log").read_text()
                return None

        listing = wait_for(up, 60, "serve-public").json()
        assert [i["id"] for i in listing["items"]] == [opened]
        assert httpx.get(f"{base}/public/v1/records/{kept}").status_code == 404
        record = httpx.get(f"{base}/public/v1/records/{opened}").json()
        got = httpx.get(base + record["files"][0]["url"])
        assert hashlib.sha256(got.content).hexdigest() == record["files"][0]["sha256"]
        assert httpx.get(f"{base}/v1/aips").status_code == 404  # no staff API here
        page = httpx.get(f"{base}/public/")
        assert "开放档案" in page.text and "set-cookie" not in page.headers
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
