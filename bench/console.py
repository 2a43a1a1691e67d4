"""The web console at scale: the officer's dashboard and a search page with 100,000 AIPs on
PostgreSQL (goal: under 300 ms of server time each).

Builds a throwaway database with the real migrations, fills it as ``bench/search.py`` does
(SIPs, AIPs, one file each) plus two verified replicas per AIP on two sites and media, a day of
fixity checks with some open and some repaired failures, then signs in through the console's
own login form and times whole requests through the app in-process (routing, session, queries,
template rendering: the server's time, no network). Baseline in the same run: ``GET /health``.
The dashboard reads the scheduler's snapshot of its counts; what taking one costs (the
``audit.dashboard`` task, once a minute in a worker) is timed apart, against no goal.

    python bench/console.py [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                            [--aips 100000] [--runs 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from search import NOW, load_postgres, p95, synthetic

from preserve.catalog.db import make_engine, upgrade
from preserve.catalog.models import Role
from support.databases import throwaway_database
from support.profiles import write_profile

GOAL = 0.300
TARGETS = (("site-a-disk", "site-a", "disk"), ("site-b-nas", "site-b", "nas"))


def add_replicas_and_checks(url: str, n: int) -> None:
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cols = "aip_id, target, state, verified_at, last_audit_at, last_audit_outcome"
        cols += ", audit_due_at, next_audit_at, file_count, total_bytes"
        with cur.copy(f"COPY replicas ({cols}) FROM STDIN") as copy:
            for i, record in enumerate(synthetic(n)):
                aip_id = str(uuid.UUID(int=2 * i + 2))
                for target, _, _ in TARGETS:
                    audited = NOW - timedelta(minutes=i % 40000)
                    due = audited + timedelta(days=30)
                    row = (aip_id, target, "verified", NOW, audited, "ok", due, due)
                    copy.write_row((*row, 1, record["size"]))
        cols = "aip_id, target, checked_at, outcome, files_checked, bytes_read, detail"
        cols += ", resolution, resolved_at, repair_source"
        with cur.copy(f"COPY fixity_checks ({cols}) FROM STDIN") as copy:
            for i in range(min(n, 20_000)):
                aip_id = str(uuid.UUID(int=2 * i + 2))
                at = NOW - timedelta(minutes=i)
                if i % 1000 == 0:
                    row = (aip_id, "site-a-disk", at, "mismatch", 1, 1000, "data/doc.pdf")
                    copy.write_row((*row, "pending", None, None))
                elif i % 1000 == 1:
                    row = (aip_id, "site-b-nas", at, "mismatch", 1, 1000, "data/doc.pdf")
                    copy.write_row((*row, "repaired", at, "site-a-disk"))
                else:
                    copy.write_row((aip_id, "site-a-disk", at, "ok", 1, 1000, "", None, None, None))
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def measure(url: str, runs: int) -> None:
    from fastapi.testclient import TestClient

    from preserve.api.app import create_app
    from preserve.runtime import Runtime
    from preserve.settings import Settings
    from preserve.trust.tokens import create_token

    with tempfile.TemporaryDirectory() as tmp:
        write_profile(Path(tmp), Path(tmp))
        settings = Settings(
            data_dir=Path(tmp) / "var",
            database_url=url,
            profiles_dir=Path(tmp),
            storage_profile="local",
            _env_file=None,
        )
        rt = Runtime(settings)
        with rt.sessions.begin() as session:
            officer = create_token(session, "agency-1", Role.OFFICER)[1]
        with TestClient(create_app(rt)) as client:
            signed = client.post("/console/login", data={"token": officer}, follow_redirects=False)
            assert signed.status_code == 303, signed.text

            def timed(path: str) -> float:
                assert client.get(path).status_code == 200, path  # warm
                samples = []
                for _ in range(runs):
                    start = time.perf_counter()
                    answer = client.get(path)
                    samples.append(time.perf_counter() - start)
                    assert answer.status_code == 200
                return p95(samples)

            print(f"dashboard recount (the scheduler's snapshot) {recount(rt, 3) * 1000:7.1f} ms")
            baseline = timed("/health")
            print(f"baseline GET /health p95 {baseline * 1000:7.1f} ms")
            for name, path in (
                ("dashboard", "/console/dashboard"),
                ("search 档案", "/console/records?q=%E6%A1%A3%E6%A1%88"),
                ("search by 档号", "/console/records?code=F012-WS-2001-0000123"),
                ("档号 prefix", "/console/records?code=F012-WS-2001&prefix=true"),
                ("fixity report", "/console/reports/fixity"),
            ):
                got = timed(path)
                print(
                    f"{name:16} p95 {got * 1000:7.1f} ms   x{got / baseline:6.1f} baseline   "
                    f"{got / GOAL:5.2f} of the 300 ms goal"
                )
        rt.close()


def recount(rt, runs: int) -> float:
    """The slowest of ``runs`` snapshots of the dashboard's counts, as the scheduler takes them."""
    from preserve.audit.dashboard import take_snapshot
    from preserve.catalog.types import utcnow

    slowest = 0.0
    for _ in range(runs):
        start = time.perf_counter()
        with rt.sessions.begin() as session:
            take_snapshot(session, rt.stores, rt.settings, utcnow())
        slowest = max(slowest, time.perf_counter() - start)
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--aips", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with throwaway_database(args.pg_url, "preserve_bench") as url:
        upgrade(url)
        start = time.perf_counter()
        load_postgres(url, args.aips, targets=())
        add_replicas_and_checks(url, args.aips)
        print(f"[postgresql] loaded {args.aips} AIPs in {time.perf_counter() - start:.0f} s")
        measure(url, args.runs)


if __name__ == "__main__":
    main()
