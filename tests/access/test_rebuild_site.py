"""Rebuilding a lost site: every AIP that belongs on the target comes back, verified; twice is
once; an interrupted rebuild resumes; nothing is copied from a copy that is not verified."""

from __future__ import annotations

import json

import pytest
import typer
from recovery_fixtures import files_under, ingest, replica_dir, tokens, wipe_target
from sqlalchemy import select
from typer.testing import CliRunner

from preserve.access.rebuild_site import Need
from preserve.catalog.models import Event, Replica, ReplicaState
from preserve.cli.rebuild import run_rebuild as rebuild
from preserve.cli.rebuild import run_survey as survey
from preserve.cli.rebuild import storage_rebuild
from preserve.errors import InvalidInput
from preserve.jobs.tasks.audit import audit_all

SMALL = {"a/one.txt": b"one\n" * 1000, "b/二.txt": "二\n".encode() * 500, "c.bin": bytes(300_000)}


@pytest.fixture
def aips(rt, client, make_token) -> list[str]:
    token = tokens(make_token)["submitter"]
    return [
        ingest(
            rt,
            client,
            token,
            {**SMALL, "n.txt": str(n).encode()},
            archival_code=f"A001-WS-2024-Y-R{n:03d}",
        )["id"]
        for n in range(3)
    ]


def states(rt, target: str) -> dict[str, ReplicaState]:
    with rt.sessions() as session:
        rows = session.scalars(select(Replica).where(Replica.target == target)).all()
        return {r.aip_id: r.state for r in rows}


def same_as_other_site(rt, aip_id: str) -> bool:
    here = files_under(replica_dir(rt, aip_id, "site-a-disk"))
    there = files_under(replica_dir(rt, aip_id, "site-b-nas"))
    return here == there and len(here) > 10


def mtimes(rt, aips: list[str]) -> dict:
    return {
        p: p.stat().st_mtime_ns for a in aips for p in replica_dir(rt, a, "site-a-disk").rglob("*")
    }


def test_a_lost_site_comes_back_whole_and_audits_clean(rt, aips):
    wipe_target(rt, "site-a-disk")
    plan = survey(rt, "site-a-disk")
    assert [i.need for i in plan.items] == [Need.MISSING] * 3
    assert plan.bytes_to_copy == 3 * (sum(map(len, SMALL.values())) + 1)
    seen: list[int] = []

    report = rebuild(rt, plan, progress=seen.append)

    assert (len(report.copied), report.failed, report.already_present) == (3, [], 0)
    assert {c.source for c in report.copied} == {"site-b-nas"}
    assert sum(seen) >= plan.bytes_to_copy
    assert all(same_as_other_site(rt, a) for a in aips)
    assert set(states(rt, "site-a-disk").values()) == {ReplicaState.VERIFIED}
    audits = audit_all(rt)
    assert len(audits) == 6 and {a.outcome.value for a in audits} == {"ok"}
    with rt.sessions() as session:
        events = session.scalars(
            select(Event).where(Event.type == "replication", Event.target == "site-a-disk")
        ).all()
        assert {e.object_id for e in events if e.outcome == "success"} >= set(aips)


def test_a_second_rebuild_copies_nothing(rt, aips):
    wipe_target(rt, "site-a-disk")
    rebuild(rt, survey(rt, "site-a-disk"))
    before = mtimes(rt, aips)

    again = survey(rt, "site-a-disk")
    report = rebuild(rt, again)

    assert [i.need for i in again.items] == [Need.PRESENT] * 3
    assert (report.copied, report.failed, report.already_present) == ([], [], 3)
    assert mtimes(rt, aips) == before


def test_an_interrupted_rebuild_resumes_and_keeps_what_is_right(rt, aips):
    wipe_target(rt, "site-a-disk")
    plan = survey(rt, "site-a-disk")
    copied = 0

    def interrupt(n: int) -> None:
        nonlocal copied
        copied += n
        if copied > plan.items[0].bytes + 100_000:  # the first AIP done, the second begun
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(rt, plan, progress=interrupt)
    first, second, third = aips
    assert states(rt, "site-a-disk")[first] == ReplicaState.VERIFIED
    assert states(rt, "site-a-disk")[second] == ReplicaState.PENDING
    kept = next(p for p in replica_dir(rt, second, "site-a-disk").rglob("*") if p.is_file())
    kept_at = kept.stat().st_mtime_ns

    resumed = survey(rt, "site-a-disk")
    needs = {i.aip_id: i.need for i in resumed.items}
    assert needs == {first: Need.PRESENT, second: Need.MISSING, third: Need.MISSING}
    report = rebuild(rt, resumed)

    assert sorted(c.aip_id for c in report.copied) == sorted([second, third])
    assert kept.stat().st_mtime_ns == kept_at
    assert all(same_as_other_site(rt, a) for a in aips)


def test_a_damaged_object_on_the_target_is_found_and_replaced(rt, aips):
    victim = replica_dir(rt, aips[1], "site-a-disk") / "data" / "c.bin"
    victim.write_bytes(b"short")
    (replica_dir(rt, aips[2], "site-a-disk") / "manifest-sha512.txt").unlink()

    plan = survey(rt, "site-a-disk")
    needs = [i.need for i in plan.items]
    assert needs == [Need.PRESENT, Need.INCOMPLETE, Need.INCOMPLETE]
    assert "data/c.bin 5 bytes, expected 300000" in plan.items[1].detail
    report = rebuild(rt, plan)

    assert len(report.copied) == 2 and not report.failed
    assert all(same_as_other_site(rt, a) for a in aips)


def test_deep_rereads_every_object_and_catches_same_size_damage(rt, aips):
    victim = replica_dir(rt, aips[0], "site-a-disk") / "data" / "a" / "one.txt"
    victim.write_bytes(b"ONE\n" * 1000)  # same size, other bytes
    assert survey(rt, "site-a-disk").items[0].need == Need.PRESENT
    plan = survey(rt, "site-a-disk", deep=True)
    assert {i.need for i in plan.items} == {Need.RECHECK}
    rebuild(rt, plan)
    assert victim.read_bytes() == SMALL["a/one.txt"]


def test_sources_must_be_verified_and_other(rt, aips):
    wipe_target(rt, "site-a-disk")
    plan = survey(rt, "site-a-disk")
    with pytest.raises(InvalidInput, match="itself"):
        rebuild(rt, plan, source="site-a-disk")
    with rt.sessions.begin() as session:
        replica = session.scalar(
            select(Replica).where(Replica.aip_id == aips[0], Replica.target == "site-b-nas")
        )
        replica.state = ReplicaState.FAILED
    report = rebuild(rt, plan, source="site-b-nas")
    assert [f.aip_id for f in report.failed] == [aips[0]]
    assert "site-b-nas: holds no verified replica" in report.failed[0].detail
    assert len(report.copied) == 2


def test_no_good_source_fails_each_aip_with_the_reason(rt, aips):
    wipe_target(rt, "site-a-disk")
    for aip_id in aips:
        (replica_dir(rt, aip_id, "site-b-nas") / "data" / "c.bin").write_bytes(bytes(300_000 - 1))
    report = rebuild(rt, survey(rt, "site-a-disk"))
    assert report.copied == [] and len(report.failed) == 3
    assert "site-b-nas" in report.failed[0].detail and "c.bin" in report.failed[0].detail
    assert set(states(rt, "site-a-disk").values()) == {ReplicaState.PENDING}


def test_an_unknown_target_is_refused(rt, aips):
    with pytest.raises(InvalidInput, match="nowhere"):
        survey(rt, "nowhere")


def cli(rt, *args: str):
    app = typer.Typer()
    app.command()(storage_rebuild)
    s = rt.settings
    env = {
        "PRESERVE_DATA_DIR": str(s.data_dir),
        "PRESERVE_DATABASE_URL": s.sqlalchemy_url,
        "PRESERVE_PROFILES_DIR": str(s.profiles_dir),
        "PRESERVE_STORAGE_PROFILE": "local",
    }
    return CliRunner().invoke(app, list(args), env=env)


def test_the_command_dry_runs_then_rebuilds(rt, aips):
    wipe_target(rt, "site-a-disk")
    dry = cli(rt, "site-a-disk", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    assert plan["to_copy"] == 3 and {i["need"] for i in plan["items"]} == {"missing"}
    assert not (replica_dir(rt, aips[0], "site-a-disk")).exists()

    done = cli(rt, "site-a-disk")
    assert done.exit_code == 0, done.output
    assert "3 copied" in done.stdout and "0 failed" in done.stdout
    again = cli(rt, "site-a-disk")
    assert "3 already present, 0 copied" in again.stdout


def test_the_command_exits_1_when_an_aip_cannot_be_copied(rt, aips):
    wipe_target(rt, "site-a-disk")
    wipe_target(rt, "site-b-nas")
    result = cli(rt, "site-a-disk", "--from", "site-b-nas")
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "3 failed" in result.stdout
