"""``preserve restore`` as an operator runs it: the nearest healthy copy, passing over a damaged
or lost one; every attempt a ``recovery`` event; a failure is one line, exit 1, nothing left."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from preserve.catalog.models import Event, Role
from support.server import cli_env, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "access"))
from recovery_fixtures import flip_byte, ingest, replica_dir, wipe_target

pytestmark = pytest.mark.slow

FILES = {
    "卷/正文.txt": "正文\n".encode() * 300,
    "卷/附件/表.csv": b"a,b\n1,2\n",
    "c.bin": bytes(5000),
}


@pytest.fixture
def aip_id(rt, client, make_token) -> str:
    return ingest(rt, client, make_token("agency-a", Role.SUBMITTER), FILES)["id"]


@pytest.fixture
def env(rt) -> dict[str, str]:
    s = rt.settings
    return cli_env(s.data_dir, s.sqlalchemy_url, s.profiles_dir)


def restored(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def recoveries(rt, aip_id: str) -> list[tuple[str, str]]:
    with rt.sessions() as session:
        rows = session.scalars(
            select(Event)
            .where(Event.type == "recovery", Event.object_id == aip_id)
            .order_by(Event.id)
        )
        return [(e.target, e.outcome) for e in rows]


def test_a_damaged_nearest_copy_is_passed_over(rt, aip_id, env, tmp_path):
    flip_byte(replica_dir(rt, aip_id, "site-a-disk") / "data" / "卷" / "正文.txt")
    result = run_cli(env, "restore", aip_id, "--to", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert f"from site-b-nas to {tmp_path / 'out'}" in result.stdout
    assert restored(tmp_path / "out") == FILES
    assert recoveries(rt, aip_id) == [("site-a-disk", "failure"), ("site-b-nas", "success")]


def test_a_lost_site_is_skipped_and_a_pattern_restores_part(rt, aip_id, env, tmp_path):
    wipe_target(rt, "site-a-disk")
    result = run_cli(env, "restore", aip_id, "--to", str(tmp_path / "part"), "--files", "卷/*")
    assert result.returncode == 0, result.stderr
    assert restored(tmp_path / "part") == {k: v for k, v in FILES.items() if k.startswith("卷/")}


def test_no_good_copy_is_one_line_and_leaves_nothing(rt, aip_id, env, tmp_path):
    for target in ("site-a-disk", "site-b-nas"):
        flip_byte(replica_dir(rt, aip_id, target) / "data" / "c.bin")
    parent = tmp_path / "restores"
    parent.mkdir()
    result = run_cli(env, "restore", aip_id, "--to", str(parent / "out"))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: no healthy copy of AIP {aip_id}: site-a-disk: data/c.bin")
    assert "; site-b-nas: data/c.bin" in last
    assert list(parent.iterdir()) == []  # neither the directory nor a partial one
    assert recoveries(rt, aip_id) == [("site-a-disk", "failure"), ("site-b-nas", "failure")]


def test_bad_requests_are_one_line(rt, aip_id, env, tmp_path):
    unknown = run_cli(env, "restore", aip_id, "--from", "elsewhere", "--to", str(tmp_path / "x"))
    assert unknown.returncode == 2  # an unknown name is a usage error (issue 12)
    assert unknown.stderr.strip().splitlines() == [
        "error: no target named 'elsewhere' (known: site-a-disk, site-b-nas)"
    ]
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    busy = run_cli(env, "restore", aip_id, "--to", str(tmp_path / "full"))
    assert busy.returncode == 1 and "is not an empty directory" in busy.stderr
    assert restored(tmp_path / "full") == {"keep.txt": b"mine"}
    nobody = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    missing = run_cli(env, "restore", nobody, "--to", str(tmp_path / "y"))
    assert missing.returncode == 1 and "error: no AIP" in missing.stderr
