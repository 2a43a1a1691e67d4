"""One output language: ``--format table|json|csv|html`` and ``-o/--output`` on the commands
that print a result; old spellings kept, hidden; tables readable at 80 columns."""

from __future__ import annotations

import csv
import io
import json

import pytest

from support.cli import preserve
from support.holdings import add_record


@pytest.fixture
def seeded(rt) -> list[str]:
    """Catalogue rows only: no replica is claimed, since the stores hold nothing (a target
    that held verified replicas and shows no AIP is a vanished store, and `storage status`
    says so with exit 1)."""
    long_title = "关于二〇二四年度档案数字化外包服务质量检查情况的通报及整改要求" * 2
    with rt.sessions.begin() as session:
        return [add_record(session, n=n, title=long_title, targets=()).id for n in range(3)]


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "html"])
def test_every_format_of_stats_and_keys_goes_to_the_output_file(
    rt, settings, seeded, tmp_path, fmt
):
    for command in (["stats"], ["keys", "list"], ["aips", "list"], ["storage", "status"]):
        out = tmp_path / f"{command[-1]}.{fmt}"
        done = preserve(settings, *command, "--format", fmt, "-o", str(out))
        assert done.returncode == 0, done.stderr
        assert done.stdout == "" and f"wrote {out}" in done.stderr
        text = out.read_text(encoding="utf-8")
        if fmt == "json":
            json.loads(text)
        elif fmt == "csv":
            assert next(csv.reader(io.StringIO(text)))
        elif fmt == "html":
            assert text.startswith("<!doctype html>")
        else:
            assert text.strip()


def test_json_and_csv_on_stdout_carry_the_rows(rt, settings, seeded):
    keys = json.loads(preserve(settings, "keys", "list", "--format", "json").stdout)
    assert keys and keys[0]["key_id"]
    rows = list(
        csv.DictReader(io.StringIO(preserve(settings, "keys", "list", "--format", "csv").stdout))
    )
    assert rows[0]["key_id"] == keys[0]["key_id"] and rows[0]["status"] == "current"
    log = json.loads(preserve(settings, "verify", "log", "--format", "json").stdout)
    assert log["ok"] is True


def test_old_spellings_still_work_and_are_hidden(rt, settings, tmp_path):
    out = tmp_path / "keys.json"
    done = preserve(settings, "keys", "export-public", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["keys"]
    helped = preserve(settings, "keys", "export-public", "--help").stdout
    assert "--output" in helped and "--out " not in helped
    receipt_help = preserve(settings, "receipt", "verify", "--help").stdout
    assert "--public-key" in receipt_help and "--key " not in receipt_help


def test_tables_stay_readable_at_80_columns(rt, settings, seeded):
    for command in (["aips", "list"], ["keys", "list"], ["storage", "status"], ["stats"]):
        done = preserve(settings, *command, columns=80)
        assert done.returncode == 0, done.stderr
        assert "…" not in done.stdout, done.stdout
        assert max(len(line) for line in done.stdout.splitlines()) <= 80
    listed = preserve(settings, "aips", "list", columns=80).stdout
    assert all(aip_id in listed for aip_id in seeded)  # whole, never cut
    keys = json.loads(preserve(settings, "keys", "list", "--format", "json").stdout)
    assert keys[0]["key_id"] in preserve(settings, "keys", "list", columns=80).stdout
