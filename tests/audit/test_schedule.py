"""The rolling schedule: even spread on simulated time, the bandwidth budget, one scheduler."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from preserve.audit.auditor import ReplicaAudit
from preserve.audit.record import record_audit
from preserve.audit.schedule import advance, first_due, in_sample, plan_all
from preserve.audit.targets import TargetPolicy
from preserve.catalog.models import (
    Agency,
    Aip,
    FixityDaily,
    Job,
    JobState,
    Replica,
    ReplicaState,
    Sip,
    new_id,
)
from preserve.jobs.scheduler import scheduler_lock, tick

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TARGET = "site-a-disk"


def add_aips(rt, count: int, verified_at: datetime, size: int = 1000, targets=(TARGET,)) -> None:
    """Catalogue rows only: the schedule never reads the bytes."""
    with rt.sessions.begin() as session:
        agency = Agency(name=f"agency-{new_id()[:8]}")
        session.add(agency)
        session.flush()
        sips, aips, replicas = [], [], []
        for i in range(count):
            sip = Sip(id=new_id(), agency_id=agency.id, storage_profile="local", record_metadata={})
            aip = Aip(
                id=new_id(),
                sip_id=sip.id,
                agency_id=agency.id,
                storage_profile="local",
                title=f"record {i}",
                archival_code=f"A-{i}",
                record_metadata={},
                file_count=1,
                total_bytes=size,
                signing_key_id="k",
                tagmanifest_sha256="0" * 64,
            )
            sips.append(sip)
            aips.append(aip)
            for t in targets:
                replica = Replica(aip_id=aip.id, target=t, state=ReplicaState.VERIFIED)
                replica.verified_at = verified_at
                replicas.append(replica)
        for rows in (sips, aips, replicas):
            session.add_all(rows)
            session.flush()


def complete_planned_audits(rt, policy: TargetPolicy, now: datetime) -> int:
    """Stand-in for the worker: each planned audit job ends with an ok check at ``now``."""
    with rt.sessions.begin() as session:
        jobs = session.scalars(
            select(Job).where(Job.kind == "audit.replica", Job.state == JobState.QUEUED)
        ).all()
        for job in jobs:
            aip = session.get(Aip, job.payload["aip_id"])
            audit = ReplicaAudit(aip.id, job.payload["target"], 1, 1000, checked_at=now)
            record_audit(session, aip, audit, policy=policy)
            job.state = JobState.DONE
        return len(jobs)


def test_a_thousand_aips_ingested_at_once_spread_evenly_over_a_30_day_interval(rt):
    policy = TargetPolicy(TARGET, interval_days=30, bandwidth_mb_s=1e6)
    add_aips(rt, 1000, verified_at=T0)
    step = timedelta(hours=8)
    now = T0
    while now < T0 + timedelta(days=31):
        with rt.sessions.begin() as session:
            plan_all(session, {TARGET: policy}, now, horizon=step)
        complete_planned_audits(rt, policy, now)
        now += step

    with rt.sessions() as session:
        per_day = {d.day: d.checks for d in session.scalars(select(FixityDaily))}
    days = [(T0 + timedelta(days=i)).date() for i in range(30)]
    counts = [per_day.get(d, 0) for d in days]
    mean = sum(counts) / len(counts)
    # Audits due between two ticks are done at the next tick: a few slip past day 30.
    assert 985 <= sum(counts) <= 1000, "each replica is checked once in the 30-day cycle"
    assert max(counts) <= 2 * mean, counts
    assert min(counts) >= mean / 2, counts


def test_each_replica_is_checked_once_per_cycle(rt):
    policy = TargetPolicy(TARGET, interval_days=30, bandwidth_mb_s=1e6)
    add_aips(rt, 200, verified_at=T0)
    now = T0
    while now <= T0 + timedelta(days=60):
        with rt.sessions.begin() as session:
            plan_all(session, {TARGET: policy}, now, horizon=timedelta(days=1))
        complete_planned_audits(rt, policy, now)
        now += timedelta(days=1)
    with rt.sessions() as session:
        replicas = session.scalars(select(Replica)).all()
        assert {r.last_audit_at >= T0 + timedelta(days=30) for r in replicas} == {True}
        assert all(T0 + timedelta(days=60) <= r.audit_due_at for r in replicas)
        assert all(r.audit_due_at < T0 + timedelta(days=91) for r in replicas)


def test_the_bandwidth_budget_paces_the_planned_reads(rt):
    mb = 1_000_000
    policy = TargetPolicy(TARGET, interval_days=30, bandwidth_mb_s=1.0)
    add_aips(rt, 40, verified_at=T0 - timedelta(days=60), size=10 * mb)
    now = T0
    with rt.sessions.begin() as session:
        plan_all(session, {TARGET: policy}, now, horizon=timedelta(seconds=60))
    with rt.sessions() as session:
        first = sorted(j.run_after for j in session.scalars(select(Job)))
    # 10 MB at 1 MB/s is 10 s of reading: at most one tick (60 s) ahead, spaced >= 10 s.
    assert 6 <= len(first) <= 7
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(first)]
    assert min(gaps) >= 10.0
    assert first[-1] <= now + timedelta(seconds=61)

    with rt.sessions.begin() as session:
        plan_all(session, {TARGET: policy}, now + timedelta(seconds=60), timedelta(seconds=60))
    with rt.sessions() as session:
        both = sorted(j.run_after for j in session.scalars(select(Job)))
    assert len(both) <= 13
    later = both[len(first) :]
    assert later[0] >= first[-1] + timedelta(seconds=10), "the budget carries over between ticks"


def test_first_due_times_and_cycles_keep_their_phase():
    interval = timedelta(days=30)
    dues = sorted(first_due(i, T0, interval) for i in range(1, 301))
    assert dues[0] >= T0 and dues[-1] < T0 + interval
    gaps = [(b - a) for a, b in itertools.pairwise(dues)]
    assert max(gaps) < 3 * interval / 300
    due = first_due(7, T0, interval)
    assert advance(due, interval, due) == due + interval
    assert advance(due, interval, due + 5 * interval + timedelta(hours=1)) == due + 6 * interval
    assert advance(due, interval, due - timedelta(hours=1)) == due


def test_cold_sampling_takes_the_share_and_covers_everyone_in_turn():
    policy = TargetPolicy("cold", interval_days=30, cold=True, sample_share=0.25)
    interval = policy.interval
    ids = range(1, 1001)
    seen: Counter[int] = Counter()
    for cycle in range(4):
        chosen = [
            i for i in ids if in_sample(i, first_due(i, T0, interval) + cycle * interval, policy)
        ]
        assert 240 <= len(chosen) <= 260
        seen.update(chosen)
    assert set(seen) == set(ids) and set(seen.values()) == {1}


def test_only_one_scheduler_ticks_at_a_time(rt):
    with scheduler_lock(rt) as leader:
        assert leader
        assert tick(rt) is None
    ran = tick(rt)
    assert ran is not None and "audit.plan" in ran
    assert tick(rt) == [], "nothing is due again within its period"


@pytest.mark.slow
def test_the_tick_runs_inside_preserve_serve(tmp_path, database_url):
    """A real `preserve serve` (uvicorn + its worker process) audits replicas that fall due."""
    import time

    import httpx
    from sqlalchemy import create_engine, func, update

    from preserve.catalog.models import FixityCheck
    from preserve.catalog.types import utcnow
    from support.profiles import write_profile
    from support.records import form, metadata
    from support.server import Server, cli_env, run_cli

    write_profile(tmp_path / "profiles", tmp_path / "stores")
    env = cli_env(tmp_path / "var", database_url, tmp_path / "profiles")
    env["PRESERVE_AUDIT_TICK_SECONDS"] = "1"
    server = Server(env, tmp_path)
    engine = create_engine(database_url)
    try:
        token = run_cli(env, "tokens", "create", "--agency", "a", "--role", "submitter")
        headers = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
            sip = client.post("/v1/sips", **form({"a.txt": b"record\n"}, metadata())).json()
            deadline = time.monotonic() + 60
            while client.get(f"/v1/sips/{sip['id']}").json()["state"] != "PRESERVED":
                assert time.monotonic() < deadline, "not preserved in time"
                time.sleep(0.2)
        with engine.begin() as conn:
            due = utcnow() - timedelta(minutes=1)
            conn.execute(update(Replica).values(audit_due_at=due, next_audit_at=due))
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as conn:
                found = conn.scalar(select(func.count()).select_from(FixityCheck))
            if found == 2:
                break
            assert time.monotonic() < deadline, f"{found} checks after 60 s"
            time.sleep(0.5)
    finally:
        engine.dispose()
        server.stop()
