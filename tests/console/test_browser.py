"""The console in a real Chromium (Debian's, via Playwright) against a real ``preserve serve``:
each role sees exactly its pages; an officer finds a record by 档号 and by a Chinese title word
and downloads a file whose sha256 matches; a corrupted replica is an open failure on the
dashboard and, after the audit repairs it, a repaired one (its counts recounted on request); a
cross-site post is refused; the session cookie has its flags; sign-out ends the session; no
request leaves the origin."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from preserve.api.console import nav
from preserve.catalog.models import Role
from support.console import CODE, FILES, TITLE, Site, sign_in
from support.server import run_cli

pytestmark = pytest.mark.slow

EVERY_PAGE = sorted({item.path for role in Role for item in nav.for_role(role)})


def _same_origin(page, site: Site) -> None:
    origin = urlsplit(site.url)[:2]
    local = [u.removeprefix("blob:") for u in page.requests]  # blob: URLs of this origin
    strangers = [u for u in local if urlsplit(u)[:2] != origin]
    assert page.requests and not strangers, strangers


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_its_pages(page, site: Site, role: Role):
    sign_in(page, site, role)
    mine = {item.path for item in nav.for_role(role)}
    links = set(page.eval_on_selector_all("header nav a", "els => els.map(e => e.pathname)"))
    assert links == mine
    for path in EVERY_PAGE:
        answer = page.goto(f"{site.url}{path}")
        assert answer is not None
        assert answer.status == (200 if path in mine else 403), path
    _same_origin(page, site)


def test_officer_finds_a_record_and_downloads_a_file(page, site: Site, tmp_path: Path):
    sign_in(page, site, Role.OFFICER)
    page.goto(f"{site.url}/console/records")
    page.fill("input[name=code]", CODE)
    page.click("form.filters button[type=submit]")
    assert page.locator("#results tbody tr").count() == 1
    assert page.locator("#results").inner_text().count(TITLE) == 1

    page.fill("input[name=code]", "")
    page.fill("input[name=q]", "安全检查")  # a word of the Chinese title
    page.click("form.filters button[type=submit]")
    page.click(f"#results a:text('{CODE}')")
    page.wait_for_url(f"{site.url}/console/aips/{site.aip_id}")
    assert page.inner_text("#archival-code") == CODE
    assert page.locator("#events code.digest").count() > 0  # chain hashes on the timeline

    link = page.locator("#files a.file", has_text="通知.pdf")
    with page.expect_download() as downloading:
        link.click()
    saved = tmp_path / "got.pdf"
    downloading.value.save_as(saved)
    digest = hashlib.sha256(saved.read_bytes()).hexdigest()
    shown = page.locator("#files tr", has_text="通知.pdf").locator("code.digest").inner_text()
    assert digest == shown == hashlib.sha256(FILES["公文/通知.pdf"]).hexdigest()
    _same_origin(page, site)


def test_corrupt_replica_open_then_repaired_on_the_dashboard(page, site: Site):
    aip_dir = next((site.root / "stores" / "site-a-disk" / "aips").glob(f"*/*/{site.aip_id}"))
    victim = aip_dir / "data" / "notes" / "readme.txt"
    data = bytearray(victim.read_bytes())
    data[5] ^= 0x01
    victim.write_bytes(bytes(data))
    found = run_cli(site.env, "audit", "run", "--aip", site.aip_id, "--no-repair")
    assert found.returncode == 1, found.stdout + found.stderr

    sign_in(page, site, Role.OFFICER)
    page.goto(f"{site.url}/console/dashboard")
    _recount(page, site)
    # one of the two copies failed its audit: the record no longer meets its policy
    assert page.inner_text("#meeting") == "0" and page.inner_text("#not-meeting") == "1"
    open_rows = page.locator(f"#open-failures tr.open-failure[data-aip='{site.aip_id}']")
    assert open_rows.count() == 1
    assert "site-a-disk" in open_rows.inner_text()
    assert page.locator(f"#repairs tr[data-aip='{site.aip_id}']").count() == 0

    fixed = run_cli(site.env, "audit", "run", "--aip", site.aip_id, "--repair")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    _recount(page, site)
    assert page.inner_text("#meeting") == "1" and page.inner_text("#not-meeting") == "0"
    assert page.locator(f"#open-failures tr[data-aip='{site.aip_id}']").count() == 0
    repaired = page.locator(f"#repairs tr.repaired-failure[data-aip='{site.aip_id}']")
    assert repaired.count() >= 1
    assert "site-a-disk" in repaired.first.inner_text()
    # open and repaired are drawn differently, not both in the same red
    assert page.locator("#repairs .badge.ok").count() >= 1
    _same_origin(page, site)


def _recount(page, site: Site) -> None:
    """The counts are the scheduler's snapshot: ask for one now, and see its time."""
    before = datetime.fromisoformat(page.get_attribute("#as-of time", "datetime") or "")
    with page.expect_navigation(url=f"{site.url}/console/dashboard"):
        page.click("#recount")
    after = datetime.fromisoformat(page.get_attribute("#as-of time", "datetime") or "")
    assert after > before, (before, after)
    assert page.inner_text("#as-of").startswith("统计截至")


def test_cookie_flags_cross_site_post_and_sign_out(page, site: Site):
    sign_in(page, site, Role.OPS)
    cookie = next(c for c in page.context.cookies() if c["name"] == "console_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # plain http here; set behind TLS
    assert site.tokens[Role.OPS] not in page.content()
    csrf = page.get_attribute("input[name=csrf_token]", "value")

    # Another origin's page posts the sign-out form, even with this session's CSRF token:
    # refused, and the session lives on.
    evil = f"http://127.0.0.1:{site.server.port + 1 if site.server.port < 65535 else 1}/evil"
    html = (
        f'<form id="f" method="post" action="{site.url}/console/logout">'
        f'<input type="hidden" name="csrf_token" value="{csrf}"></form>'
        "<script>document.getElementById('f').submit()</script>"
    )
    page.route(evil, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    with page.expect_navigation(url=f"{site.url}/console/logout"):
        page.goto(evil)
    assert "403" in page.title() or page.locator("h1", has_text="403").count() == 1
    page.unroute(evil)
    assert page.goto(f"{site.url}/console/").url == f"{site.url}/console/"

    log = site.server.log.read_text(encoding="utf-8", errors="replace")
    assert all(token not in log for token in site.tokens.values())
    page.click("header form[action='/console/logout'] button")
    page.wait_for_url(f"{site.url}/console/login")
    page.context.add_cookies([{**cookie}])  # the old session id, replayed: it is over
    assert page.goto(f"{site.url}/console/ops/jobs").url == f"{site.url}/console/login"


def test_docs_work_offline(page, site: Site):
    answer = page.goto(f"{site.url}/docs")
    assert answer is not None and answer.status == 200
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    _same_origin(page, site)


def test_redoc_works_offline(page, site: Site):
    answer = page.goto(f"{site.url}/redoc")
    assert answer is not None and answer.status == 200
    page.wait_for_selector("redoc .api-content, .api-content", timeout=30_000)
    _same_origin(page, site)


A4_TEXT_WIDTH_PX = 703  # 210 mm less the 12 mm margins of console.css's @page, at 96 px/in


def test_fixity_report_prints_on_a4(page, site: Site, tmp_path: Path):
    """Printed, every table of the report fits the A4 text width (nothing cut at the right),
    and Chromium's PDF is A4."""
    import pikepdf

    sign_in(page, site, Role.OFFICER)
    page.goto(f"{site.url}/console/reports/fixity")
    assert page.locator("table.report tbody tr").count() >= 2  # targets, failures after repair
    page.emulate_media(media="print")
    page.set_viewport_size({"width": A4_TEXT_WIDTH_PX, "height": 1000})
    boxes = page.eval_on_selector_all(
        "table",
        "ts => ts.map(t => [t.getBoundingClientRect().right, t.scrollWidth, t.clientWidth])",
    )
    assert boxes
    for right, scroll, client in boxes:
        assert right <= A4_TEXT_WIDTH_PX + 0.5 and scroll <= client + 1, boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= A4_TEXT_WIDTH_PX
    pdf = tmp_path / "fixity.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    with pikepdf.open(pdf) as doc:
        width, height = (float(v) for v in doc.pages[0].mediabox[2:])
    assert abs(width - 595.3) < 1.5 and abs(height - 841.9) < 1.5  # A4 in points
    _same_origin(page, site)


def test_submitter_transfers_a_file_in_chunks(page, site: Site):
    """A file larger than two chunks goes up in several PATCHes from the page's own script,
    with the progress shown, and the browser lands on the new SIP's page."""
    big = b"".join(b"%08d a line of a large record sent by hand\n" % i for i in range(200_000))
    patches: list[str] = []
    page.on("request", lambda r: patches.append(r.url) if r.method == "PATCH" else None)
    sign_in(page, site, Role.SUBMITTER)
    page.goto(f"{site.url}/console/transfer")
    chunk = int(page.get_attribute("#transfer", "data-chunk") or 0)
    assert len(big) > 2 * chunk > 0
    page.fill("input[name=title]", "浏览器中手工移交的档案")
    page.fill("input[name=creator]", "records office")
    page.fill("input[name=date]", "2025-06-30")
    page.select_option("select[name=retention]", "30y")
    page.fill("input[name=archival_code]", "J012-WS-2025-Y-0777")
    page.set_input_files(
        "#files", files=[{"name": "large-record.txt", "mimeType": "text/plain", "buffer": big}]
    )
    page.evaluate(
        """() => new MutationObserver(() => sessionStorage.setItem('shown',
             document.getElementById('progress-text').textContent)).observe(
             document.getElementById('progress-text'), {childList: true})"""
    )
    page.click("#transfer button[type=submit]")
    page.wait_for_url(f"{site.url}/console/sips/*", timeout=60_000)
    assert len(patches) >= 3, patches
    assert page.evaluate("() => sessionStorage.getItem('shown')")  # the progress was shown
    assert "浏览器中手工移交的档案" in page.content()
    sip_id = page.url.rsplit("/", 1)[1]
    headers = {"Authorization": f"Bearer {site.tokens[Role.SUBMITTER]}"}
    sip = httpx.get(f"{site.url}/v1/sips/{sip_id}", headers=headers, timeout=30).json()
    assert sip["file_count"] == 1 and sip["total_bytes"] == len(big)
    _same_origin(page, site)
