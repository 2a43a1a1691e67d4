"""Recovery drills on the officer's console and the printable reports, in-process (both
databases): a drill run as ``preserve drill`` runs it is kept, listed, shown, and printed
(A4, page numbers, the archive's name, human units, local times with their zone, an estimate
that is never a bare 0:00:00); the holdings statistics print the same way; other roles are
kept out."""

from __future__ import annotations

import pytest

from preserve.catalog.models import Role
from preserve.cli.drill import run_drill
from preserve.printable import human_duration
from support.console_forms import as_
from support.http import auth
from support.ingest import ingest
from support.records import MINIMAL_PDF

ARCHIVE = "某省档案馆 Provincial Archives"


@pytest.fixture
def drilled(rt, client, make_token, tmp_path):
    rt.settings.archive_name = ARCHIVE
    rt.settings.display_timezone = "Asia/Shanghai"
    aip = ingest(rt, client, make_token, {"a.pdf": MINIMAL_PDF, "b.txt": b"text\n" * 500})
    report = run_drill(rt, tmp_path / "scratch", sample=1, seed=7)
    assert report.failed == 0 and report.targets[0].target == "site-b-nas"
    return aip


def test_drill_list_view_and_print(client, make_token, drilled):
    as_(client, make_token("archive", Role.OFFICER))
    listing = client.get("/console/reports/drills")
    assert listing.status_code == 200
    rows = listing.text.split('id="drills"', 1)[1]
    assert "local" in rows and "site-b-nas" in rows and "通过" in rows and "UTC+08:00" in rows
    link = rows.split('href="/console/reports/drills/', 1)[1].split('"', 1)[0]
    shown = client.get(f"/console/reports/drills/{link}")
    assert shown.status_code == 200
    body = shown.text
    assert "恢复演练报告 Recovery drill report" in body and "通过 PASSED" in body
    assert drilled in body and "UTC+08:00" in body
    estimate = body.split('class="n estimate">', 1)[1].split("<", 1)[0]
    assert estimate.endswith(" s") and estimate != "0:00:00", estimate
    assert "KB" in body or " B<" in body  # human units, not raw byte counts

    printed = client.get(f"/console/reports/drills/{link}/print")
    assert printed.status_code == 200
    page = printed.text
    assert "size: A4" in page and "counter(pages)" in page and ARCHIVE in page
    assert "<script" not in page and "http" not in page.split("<body>", 1)[1]
    assert estimate in page


def test_unknown_or_crafted_drill_names_are_404(client, make_token):
    as_(client, make_token("archive", Role.OFFICER))
    assert "尚未进行恢复演练" in client.get("/console/reports/drills").text
    for name in ("20260101T000000Z-local-1", "..", ".hidden", "a%2F..%2Fb"):
        assert client.get(f"/console/reports/drills/{name}").status_code == 404, name


def test_statistics_print_through_the_same_layout(rt, client, make_token):
    rt.settings.archive_name = ARCHIVE
    ingest(rt, client, make_token, {"a.pdf": MINIMAL_PDF})
    answer = client.get(
        "/v1/statistics?by=agency&format=html", headers=auth(make_token("a", Role.OFFICER))
    )
    assert answer.status_code == 200
    page = answer.text
    assert "馆藏统计 Holdings by 机构 agency" in page and ARCHIVE in page
    assert "size: A4" in page and "counter(pages)" in page
    assert ("agency-a" in page and " B<" in page) or "KB<" in page
    assert "合计 Total" in page


def test_short_restores_are_not_zero():
    assert human_duration(0.004) == "< 0.1 s"
    assert human_duration(2.34) == "2.3 s"
    assert human_duration(3725) == "1 h 02 min"
    assert human_duration(None) == "—"


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.OFFICER, Role.ADMIN)])
def test_drills_only_for_officers(client, make_token, role):
    as_(client, make_token("archive", role))
    assert client.get("/console/reports/drills").status_code == 403
    assert client.get("/console/reports/drills/x").status_code == 403
    assert client.get("/console/reports/drills/x/print").status_code == 403
