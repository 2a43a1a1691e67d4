"""The console browser tests' fixtures: one real ``preserve serve`` per module (and database) with a
token per role and one preserved record, and Debian's Chromium driven by Playwright.

A failing browser test leaves a screenshot in ``$PRESERVE_ARTEFACTS`` (``build/artefacts`` by
default), which CI keeps."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from preserve.catalog.models import Role
from support.http import wait_for
from support.profiles import write_profile
from support.records import MINIMAL_PDF, form, metadata
from support.server import Server, cli_env, run_cli

CHROMIUM = os.environ.get("PRESERVE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = Path(os.environ.get("PRESERVE_ARTEFACTS", "build/artefacts"))

TITLE = "关于开展2025年度档案安全检查的通知"
CODE = "J012-WS-2025-Y-0042"
FILES = {"公文/通知.pdf": MINIMAL_PDF, "notes/readme.txt": b"plain text record\n" * 200}


@dataclass
class Site:
    server: Server
    env: dict[str, str]
    root: Path
    tokens: dict[Role, str] = field(default_factory=dict)
    aip_id: str = ""

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory, postgres_database) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium executable at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras")
    root = tmp_path_factory.mktemp("console")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'catalogue.db'}"
    else:
        if postgres_database is None:
            pytest.skip("PRESERVE_TEST_DATABASE_URL not set: PostgreSQL cases skipped")
        url = _fresh_schema(postgres_database)
    write_profile(root / "profiles", root / "stores")
    env = cli_env(root / "var", url, root / "profiles")
    server = Server(env, root)
    try:
        made = Site(server, env, root)
        for role in Role:
            agency = "records-office" if role == Role.SUBMITTER else "archives"
            out = run_cli(env, "tokens", "create", "--agency", agency, "--role", role.value)
            assert out.returncode == 0, out.stderr
            made.tokens[role] = out.stdout.strip().splitlines()[-1]
        made.aip_id = _push(made)
        yield made
    finally:
        server.stop()


def _fresh_schema(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def _push(site: Site) -> str:
    headers = {"Authorization": f"Bearer {site.tokens[Role.SUBMITTER]}"}
    meta = metadata(title=TITLE, archival_code=CODE)
    with httpx.Client(base_url=site.url, headers=headers, timeout=30) as client:
        accepted = client.post("/v1/sips", **form(FILES, meta))
        assert accepted.status_code == 202, accepted.text
        sip_id = accepted.json()["id"]

        def preserved():
            sip = client.get(f"/v1/sips/{sip_id}").json()
            return sip if sip["state"] == "PRESERVED" else None

        return wait_for(preserved, timeout=120, what="the record PRESERVED")["aip_id"]


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(request, browser, site):
    """A fresh browser context (no cookies) whose every request is logged in ``page.requests``."""
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    tab = context.new_page()
    tab.requests = []  # type: ignore[attr-defined]
    context.on("request", lambda r: tab.requests.append(r.url))  # type: ignore[attr-defined]
    yield tab
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        tab.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    context.close()


def sign_in(page, site: Site, role: Role) -> None:
    page.goto(f"{site.url}/console/login")
    page.fill("input[name=token]", site.tokens[role])
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{site.url}/console/")
