"""Recovery drills: a sample from each off-site target restored, verified, timed and removed;
the stores only read; the report as table, JSON, CSV and HTML; a failure fails the drill."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from recovery_fixtures import files_under, flip_byte, ingest, replica_dir, tokens
from sqlalchemy import select
from typer.testing import CliRunner

from preserve.access.drill import offsite_targets
from preserve.catalog.models import Event
from preserve.cli.drill import drill, run_drill
from preserve.errors import InvalidInput
from preserve.storage.profiles import StorageProfile

FILES = {"r/1.txt": b"one\n" * 5000, "r/二.txt": "二\n".encode() * 100}


@pytest.fixture
def aips(rt, client, make_token) -> list[str]:
    token = tokens(make_token)["submitter"]
    return [
        ingest(
            rt,
            client,
            token,
            {**FILES, "n.txt": str(n).encode()},
            archival_code=f"A001-WS-2024-Y-D{n:03d}",
        )["id"]
        for n in range(4)
    ]


def stores(rt) -> dict[str, bytes]:
    root = Path(rt.profile().targets[0].root).parent
    return files_under(root)


def test_a_drill_restores_a_sample_from_the_offsite_target(rt, aips, tmp_path):
    before = stores(rt)
    report = run_drill(rt, tmp_path / "scratch", sample=2, seed=7)

    assert [t.target for t in report.targets] == ["site-b-nas"]
    (drill_b,) = report.targets
    assert (drill_b.site, drill_b.media, drill_b.aips_held) == ("site-b", "nas", 4)
    assert len(drill_b.samples) == 2 and all(s.ok for s in drill_b.samples)
    assert {s.aip_id for s in drill_b.samples} <= set(aips)
    assert all(s.files == 3 and s.bytes > 20_000 for s in drill_b.samples)
    assert drill_b.estimated_full_restore_seconds is not None
    assert drill_b.throughput_mb_s is not None and drill_b.throughput_mb_s > 0
    assert report.failed == 0
    assert stores(rt) == before
    assert list((tmp_path / "scratch").rglob("*")) == []
    with rt.sessions() as session:
        events = session.scalars(select(Event).where(Event.agent == "drill")).all()
        assert sorted(e.object_id for e in events) == sorted(s.aip_id for s in drill_b.samples)
        assert {(e.type, e.outcome, e.target) for e in events} == {
            ("recovery", "success", "site-b-nas")
        }


def test_the_same_seed_draws_the_same_sample(rt, aips, tmp_path):
    first = run_drill(rt, tmp_path, sample=2, seed=42)
    second = run_drill(rt, tmp_path, sample=2, seed=42)
    assert [s.aip_id for s in first.targets[0].samples] == [
        s.aip_id for s in second.targets[0].samples
    ]
    everything = run_drill(rt, tmp_path, sample=10, targets=["site-a-disk", "site-b-nas"])
    assert [len(t.samples) for t in everything.targets] == [4, 4]


def test_a_damaged_offsite_copy_fails_the_drill(rt, aips, tmp_path):
    for aip_id in aips:
        flip_byte(replica_dir(rt, aip_id, "site-b-nas") / "data" / "r" / "1.txt")
    report = run_drill(rt, tmp_path, sample=1, seed=1)
    (sample,) = report.targets[0].samples
    assert not sample.ok and report.failed == 1
    assert "site-b-nas: data/r/1.txt has sha256" in sample.detail
    assert report.targets[0].estimated_full_restore_seconds is None


def test_targets_off_the_first_site(rt, aips, tmp_path):
    profile = StorageProfile.model_validate(
        {
            "name": "one-site",
            "policy": {"min_copies": 2},
            "targets": [
                {"name": "a", "kind": "filesystem", "site": "s", "media": "disk", "root": "/a"},
                {"name": "b", "kind": "filesystem", "site": "s", "media": "tape", "root": "/b"},
            ],
        }
    )
    assert offsite_targets(profile) == []
    assert offsite_targets(rt.profile()) == ["site-b-nas"]
    with pytest.raises(InvalidInput, match="nowhere"):
        run_drill(rt, tmp_path, targets=["nowhere"])


def cli(rt, *args: str):
    app = typer.Typer()
    app.command()(drill)
    s = rt.settings
    env = {
        "PRESERVE_DATA_DIR": str(s.data_dir),
        "PRESERVE_DATABASE_URL": s.sqlalchemy_url,
        "PRESERVE_PROFILES_DIR": str(s.profiles_dir),
        "PRESERVE_STORAGE_PROFILE": "local",
    }
    return CliRunner().invoke(app, list(args), env=env)


def test_the_report_comes_as_table_json_csv_and_html(rt, aips, tmp_path):
    table = cli(rt, "--sample", "1", "--seed", "3")
    assert table.exit_code == 0, table.output
    assert "recovery drill, profile local (seed 3)" in table.stdout
    assert "drill passed" in table.stdout

    doc = json.loads(cli(rt, "--sample", "2", "--format", "json").stdout)
    assert doc["failed"] == 0 and doc["targets"][0]["target"] == "site-b-nas"
    assert len(doc["targets"][0]["samples"]) == 2

    rows = list(csv.DictReader(io.StringIO(cli(rt, "--sample", "2", "--format", "csv").stdout)))
    assert len(rows) == 2 and {r["ok"] for r in rows} == {"True"}

    page = tmp_path / "drill.html"
    written = cli(rt, "--format", "html", "-o", str(page))
    assert written.exit_code == 0
    html = page.read_text()
    assert "通过 PASSED" in html and html.count("<tr>") >= 3
    assert "size: A4" in html and "counter(pages)" in html
    assert "0:00:00" not in html  # a short restore is '< 0.1 s' or '0.3 s', never zero
    kept = rt.settings.resolved_data_dir / "reports" / "drill"
    assert len(list(kept.glob("*.json"))) == 4  # every drill kept for the console


def test_the_command_exits_1_and_names_each_failure(rt, aips):
    for aip_id in aips:
        flip_byte(replica_dir(rt, aip_id, "site-b-nas") / "data" / "r" / "1.txt")
    result = cli(rt, "--sample", "2")
    assert result.exit_code == 1
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL site-b-nas")]
    assert len(fails) == 2 and "drill FAILED: 2 restores failed" in result.stdout
