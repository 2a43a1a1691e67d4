"""``preserve aips list|show``, ``preserve sips list`` and ``preserve stats``."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from preserve.catalog.models import Role, SipState
from preserve.cli.main import app
from support.holdings import add_record

runner = CliRunner()


@pytest.fixture
def cli(rt, settings, monkeypatch):
    for name in ("data_dir", "database_url", "profiles_dir", "storage_profile"):
        monkeypatch.setenv(f"PRESERVE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


@pytest.fixture
def seeded(rt) -> list[str]:
    with rt.sessions.begin() as session:
        ids = [add_record(session, n=n, fonds="A001", title=f"档案 {n}").id for n in range(5)]
        add_record(session, "agency-b", n=9, fonds="B002", state=SipState.REJECTED)
    return ids


def test_a_script_pages_through_aips_with_the_cursor(cli, seeded):
    seen, cursor = [], None
    while True:
        args = ["aips", "list", "--fonds", "A001", "--limit", "2", "--format", "json"]
        page = json.loads(cli(*args, *(["--cursor", cursor] if cursor else [])))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(seeded))


def test_search_and_csv_and_table(cli, seeded):
    rows = list(csv.DictReader(io.StringIO(cli("aips", "list", "-q", "档案", "--format", "csv"))))
    assert [r["id"] for r in rows] == list(reversed(seeded))
    assert rows[0]["matched_fields"] == "title"
    assert seeded[0] in cli("aips", "list", "--sort", "ingested")
    rejected = json.loads(cli("sips", "list", "--state", "REJECTED", "--format", "json"))
    assert [i["fonds"] for i in rejected["items"]] == ["B002"]


def test_show_one_aip(cli, seeded):
    shown = json.loads(cli("aips", "show", seeded[0]))
    assert shown["id"] == seeded[0]
    assert shown["metadata"]["title"] == "档案 0"
    assert [f["path"] for f in shown["files"]] == ["a.pdf"]


def test_stats_give_the_api_numbers(cli, client, make_token, seeded):
    headers = {"Authorization": f"Bearer {make_token('agency-a', Role.OFFICER)}"}
    for by in ("agency", "fonds", "state", "format"):
        api = client.get(f"/v1/statistics?by={by}", headers=headers).json()
        assert json.loads(cli("stats", "--by", by, "--format", "json")) == api
    assert "A001" in cli("stats", "--by", "fonds")
    assert cli("stats", "--by", "fonds", "--format", "csv").startswith("key,records,files,bytes")
