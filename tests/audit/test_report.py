"""Reports an officer can hand to an auditor: JSON signed with the archive key, CSV, a
self-contained printable HTML page; `preserve audit run/status` and `preserve report` on the
command line."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from audit_support import BAD, FILES, GOOD, ingest, make_due, replica_dir, scheduled_round
from test_repair import flip_byte
from typer.testing import CliRunner

from preserve.audit.render_html import render_html
from preserve.audit.report import TARGET_COLUMNS, FailureEntry, FixityReport, TargetSummary
from preserve.catalog.models import Role
from preserve.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli(settings, monkeypatch):
    for name in ("data_dir", "database_url", "profiles_dir", "storage_profile"):
        monkeypatch.setenv(f"PRESERVE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def repaired_aip(rt, client, make_token) -> str:
    aip_id = ingest(rt, client, make_token)
    flip_byte(replica_dir(rt, aip_id, BAD))
    make_due(rt, aip_id)
    scheduled_round(rt)
    return aip_id


def test_signed_json_report_verifies_and_an_edit_is_caught(cli, repaired_aip, tmp_path):
    path = tmp_path / "report.json"
    made = cli("report", "fixity", "--format", "json", "--output", str(path))
    assert made.exit_code == 0, made.output
    envelope = json.loads(path.read_text(encoding="utf-8"))
    [failure] = envelope["report"]["failures"]
    assert (failure["aip_id"], failure["resolution"]) == (repaired_aip, "repaired")

    ok = cli("report", "verify", str(path))
    assert ok.exit_code == 0, ok.output
    assert "ok: signed by archive key" in ok.output

    path.write_text(json.dumps(envelope, indent=None), encoding="utf-8")  # re-indented only
    assert cli("report", "verify", str(path)).exit_code == 0

    envelope["report"]["failures"][0]["resolution"] = "resolved"
    path.write_text(json.dumps(envelope, indent=2), encoding="utf-8")
    edited = cli("report", "verify", str(path))
    assert edited.exit_code == 1
    assert "does NOT verify" in edited.output

    path.write_text("{not json", encoding="utf-8")
    assert cli("report", "verify", str(path)).exit_code == 1


def test_html_report_is_one_self_contained_page_with_a_chart(cli, repaired_aip, tmp_path):
    path = tmp_path / "report.html"
    assert cli("report", "fixity", "--format", "html", "-o", str(path)).exit_code == 0
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page and "<rect" in page
    assert repaired_aip in page and "repaired" in page and GOOD in page
    for outside in ("<script", "<link", "src=", "href=", "url(", "@import"):
        assert outside not in page, outside
    assert "@media print" in page or "@page" in page


def test_html_escapes_whatever_a_detail_holds():
    report = FixityReport("2026-01-01T00:00:00+00:00", None, "2026-01-31T00:00:00+00:00", 1)
    report.targets = [TargetSummary("t1", objects=1)]
    report.failures = [
        FailureEntry(
            "id", "t1", "2026-01-02", "mismatch", "<script>alert(1)</script>", "pending", None, None
        )
    ]
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_csv_and_api_formats(rt, client, make_token, repaired_aip):
    officer = {"Authorization": f"Bearer {make_token('archive', Role.OFFICER)}"}
    response = client.get("/v1/reports/fixity", params={"format": "csv"}, headers=officer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    targets_part, failures_part = response.text.split("\r\n\r\n")
    rows = list(csv.DictReader(io.StringIO(targets_part)))
    assert list(rows[0]) == TARGET_COLUMNS
    by_target = {r["target"]: r for r in rows}
    assert by_target[BAD]["mismatch"] == "1" and by_target[BAD]["repairs"] == "1"
    assert by_target[GOOD]["objects"] == "1" and by_target[GOOD]["coverage"] == "1.0"
    [failure] = list(csv.DictReader(io.StringIO(failures_part)))
    assert (failure["aip_id"], failure["resolution"]) == (repaired_aip, "repaired")

    html = client.get("/v1/reports/fixity", params={"format": "html"}, headers=officer)
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text

    only = client.get("/v1/reports/fixity", params={"target": GOOD}, headers=officer).json()
    assert [t["target"] for t in only["report"]["targets"]] == [GOOD]
    assert only["report"]["failures"] == []

    backwards = client.get(
        "/v1/reports/fixity",
        params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        headers=officer,
    )
    assert backwards.status_code == 422
    assert backwards.headers["content-type"] == "application/problem+json"
    bad_format = client.get("/v1/reports/fixity", params={"format": "pdf"}, headers=officer)
    assert bad_format.status_code == 422


def test_report_period_excludes_checks_outside_it(rt, client, make_token, repaired_aip):
    officer = {"Authorization": f"Bearer {make_token('archive', Role.OFFICER)}"}
    old = client.get(
        "/v1/reports/fixity",
        params={"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"},
        headers=officer,
    ).json()["report"]
    assert old["failures"] == []
    assert {t["checks"] for t in old["targets"]} == {0}
    assert len(old["daily"]) == 32 and {d["checks"] for d in old["daily"]} == {0}


def test_cli_audit_run_and_status(cli, rt, client, make_token):
    aip_id = ingest(rt, client, make_token, files=dict(FILES))
    clean = cli("audit", "run", "--all")
    assert clean.exit_code == 0, clean.output
    assert "2 replicas audited, 2 ok, 0 failed" in clean.output

    flip_byte(replica_dir(rt, aip_id, BAD))
    found = cli("audit", "run", "--target", BAD)
    assert found.exit_code == 1
    assert "mismatch" in found.output and "docs/notice.pdf" in found.output

    status = cli("audit", "status", "--format", "json")
    assert status.exit_code == 0, status.output
    doc = json.loads(status.output)
    by_target = {t["target"]: t for t in doc["targets"]}
    assert by_target[BAD]["open_failures"] == 1 and by_target[GOOD]["open_failures"] == 0
    assert by_target[GOOD]["coverage"] == 1.0
    assert [f["aip_id"] for f in doc["open_failures"]] == [aip_id]
    assert "open_failures" in cli("audit", "status").output

    fixed = cli("audit", "run", "--aip", aip_id, "--target", BAD, "--repair")
    assert fixed.exit_code == 0, fixed.output
    assert "1 repaired" in fixed.output
    assert json.loads(cli("audit", "status", "--format", "json").output)["open_failures"] == []
    assert cli("audit", "run", "--due", "--all").exit_code != 0


def test_report_table_lists_failures(cli, repaired_aip):
    table = cli("report", "fixity")
    assert table.exit_code == 0, table.output
    assert re.search(
        rf"failure .* {BAD} {repaired_aip}: mismatch → repaired from {GOOD}", table.output
    )
