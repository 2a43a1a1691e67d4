"""A member of the public in a real Chromium (Debian's, through Playwright): searches the
catalogue in Chinese, opens a record, reads its PDF in the page, downloads a file and checks
its digest against the one the page shows."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support.cli import env_for
from support.http import wait_for
from support.ingest import ingest
from support.opening import People, open_records, text_pdf
from support.server import free_port

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"),
]


@pytest.fixture
def public_server(rt, client, make_token, settings, tmp_path):
    people = People(make_token)
    pdf = text_pdf("Harbour lighthouse ledger")
    aip = ingest(rt, client, make_token, {"ledger.pdf": pdf}, title="港口灯塔守护日志",
                 archival_code="A001-WS-1990-Y-0301", date="1990-02-01")  # fmt: skip
    open_records(rt, client, people, aip)
    port = free_port()
    log = open(tmp_path / "public.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "preserve", "serve-public", "--port", str(port)],
        env=env_for(settings), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(f"{base}/public/", timeout=2).status_code == 200
        except httpx.HTTPError:
            assert proc.poll() is None, (tmp_path / "public.log").read_text()
            return False

    try:
        wait_for(up, 60, "serve-public")
        yield base, aip, pdf
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_search_read_download_in_chromium(public_server, tmp_path):
    from playwright.sync_api import sync_playwright

    base, _aip, pdf = public_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            page.goto(f"{base}/public/")
            page.fill("input[name=q]", "灯塔")
            page.click("button[type=submit]")
            page.click("#results a:has-text('港口灯塔守护日志')")
            assert page.inner_text("#title") == "港口灯塔守护日志"
            assert "A001-WS-1990-Y-0301" in page.inner_text("#fields")

            with page.expect_response(lambda r: "/files/ledger.pdf" in r.url) as answer:
                page.click("a.read")
            response = answer.value
            assert response.status == 200
            assert response.headers["content-type"] == "application/pdf"
            assert response.headers["content-disposition"].startswith("inline")
            assert page.locator("iframe#reader").count() == 1
            shown = page.inner_text("#digest").strip()
            assert shown == hashlib.sha256(pdf).hexdigest()

            with page.expect_download() as download_info:
                page.click("a.download")
            saved = tmp_path / "downloaded.pdf"
            download_info.value.save_as(saved)
            assert hashlib.sha256(saved.read_bytes()).hexdigest() == shown
            assert context.cookies() == []
        finally:
            browser.close()
