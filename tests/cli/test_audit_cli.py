"""``audit run``, ``audit status`` and ``report fixity``: unknown names exit 2, and the one
output language (``--format``, ``-o``)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from support.cli import preserve
from support.holdings import add_record


@pytest.fixture
def seeded(rt):
    with rt.sessions.begin() as session:
        return add_record(session, n=1).id


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("audit", "run", "--target", "nosuch"), "target named 'nosuch'"),
        (("audit", "run", "--aip", "nosuch"), "AIP named 'nosuch'"),
        (("audit", "status", "--target", "nosuch"), "target named 'nosuch'"),
        (("report", "fixity", "--target", "nosuch"), "target named 'nosuch'"),
    ],
)
def test_an_unknown_target_or_aip_exits_2_naming_it(rt, settings, seeded, args, name):
    done = preserve(settings, *args)

    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no ") and name in lines[0]


def test_audit_results_in_every_format(rt, settings, seeded, tmp_path):
    out = tmp_path / "run.json"
    run = preserve(
        settings, "audit", "run", "--target", "site-b-nas", "--format", "json", "-o", str(out)
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())["audited"] == 0

    status = preserve(settings, "audit", "status", "--format", "csv")
    assert status.returncode == 0, status.stderr
    targets = {r["target"] for r in csv.DictReader(io.StringIO(status.stdout))}
    assert "site-a-disk" in targets

    signed = preserve(settings, "report", "fixity", "--format", "json", "--target", "site-a-disk")
    assert signed.returncode == 0, signed.stderr
    assert "signature" in json.loads(signed.stdout)
    page = preserve(
        settings, "report", "fixity", "--format", "html", "-o", str(tmp_path / "r.html")
    )
    assert page.returncode == 0 and (tmp_path / "r.html").read_text().lower().startswith(
        "<!doctype html"
    )

    table = preserve(settings, "audit", "status", columns=80)
    assert "site-a-disk" in table.stdout and "…" not in table.stdout
