"""The audit's catalogue queries at scale, on PostgreSQL: 1,000,000 files.

Builds a throwaway database (the real migrations) holding 250,000 AIPs of 4 files each on three
targets (two warm with a 90-day interval, one cold sampled at 5%): 750,000 replicas spread over
their schedule and two audit cycles of fixity checks (about a million rows), then times

* choosing the next due batch of one target (what each scheduler tick does; goal < 100 ms),
* planning that batch into paced audit jobs (the whole tick for one target),
* a month's fixity report over every target (goal < 5 s).

    python bench/catalog_scale.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                  [--aips 250000] [--keep]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from preserve.audit.report import fixity_report
from preserve.audit.repository import due_batch
from preserve.audit.schedule import first_due, plan_target
from preserve.audit.targets import TargetPolicy
from preserve.catalog.db import make_engine, make_sessionmaker, upgrade
from preserve.catalog.models import Base

NOW = datetime.now(UTC).replace(microsecond=0)
POLICIES = {
    "disk-a": TargetPolicy("disk-a", 90, 100.0),
    "nas-b": TargetPolicy("nas-b", 90, 100.0),
    "tape-c": TargetPolicy("tape-c", 90, 20.0, cold=True, sample_share=0.05),
}
FILES_PER_AIP = 4


def copy_rows(raw, table: str, columns: list[str], rows) -> int:
    """COPY rows in, filling every other NOT NULL column from the model's scalar default."""
    extra = {}
    for col in Base.metadata.tables[table].columns:
        if col.name in columns or col.nullable or col.server_default is not None:
            continue
        if col.primary_key and col.autoincrement in (True, "auto"):
            continue  # a serial id
        if col.default is None:
            raise SystemExit(f"{table}.{col.name} needs a value the bench does not know")
        arg = col.default.arg
        extra[col.name] = arg(None) if callable(arg) else arg
    names = columns + list(extra)
    count = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*row, *extra.values()))
            count += 1
    raw.commit()
    return count


def populate(url: str, n_aips: int) -> None:
    rnd = random.Random(5)
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        copy_rows(raw, "agencies", ["id", "name", "created_at"], [(1, "bench", NOW)])
        aips = []
        for _ in range(n_aips):
            created = NOW - timedelta(days=rnd.uniform(1, 730))
            aips.append((str(uuid.uuid4()), str(uuid.uuid4()), created, rnd.randint(10**4, 10**8)))
        copy_rows(
            raw,
            "sips",
            ["id", "agency_id", "state", "storage_profile", "record_metadata", "received_at"],
            ((s, 1, "PRESERVED", "bench", "{}", c) for _a, s, c, _b in aips),
        )
        copy_rows(
            raw,
            "aips",
            [
                "id",
                "sip_id",
                "agency_id",
                "storage_profile",
                "title",
                "archival_code",
                "record_metadata",
                "file_count",
                "total_bytes",
                "signing_key_id",
                "tagmanifest_sha256",
                "created_at",
            ],
            (
                (a, s, 1, "bench", "t", f"B-{i}", "{}", FILES_PER_AIP, b, "k", "0" * 64, c)
                for i, (a, s, c, b) in enumerate(aips)
            ),
        )
        copy_rows(
            raw,
            "files",
            ["aip_id", "path", "size", "sha256", "sha512"],
            (
                (a, f"doc/{j}.pdf", b // FILES_PER_AIP, "1" * 64, "2" * 128)
                for a, _s, _c, b in aips
                for j in range(FILES_PER_AIP)
            ),
        )
        checks: list[tuple] = []
        copy_rows(
            raw,
            "replicas",
            [
                "id",
                "aip_id",
                "target",
                "state",
                "verified_at",
                "last_audit_at",
                "last_audit_outcome",
                "audit_due_at",
                "next_audit_at",
            ],
            _replicas(aips, checks, rnd),
        )
        copy_rows(
            raw,
            "fixity_checks",
            [
                "aip_id",
                "target",
                "checked_at",
                "outcome",
                "files_checked",
                "bytes_read",
                "detail",
                "resolution",
                "resolved_at",
                "repair_source",
            ],
            checks,
        )
        daily: Counter = Counter()
        for _a, target, when, outcome, *_rest in checks:
            daily[(when.date(), target, "c")] += 1
            daily[(when.date(), target, "f")] += outcome != "ok"
        days = sorted({(d, t) for d, t, _k in daily})
        copy_rows(
            raw,
            "fixity_daily",
            ["day", "target", "checks", "failures", "bytes_read", "repairs"],
            (
                (d, t, daily[(d, t, "c")], daily[(d, t, "f")], 0, daily[(d, t, "f")])
                for d, t in days
            ),
        )
        with raw.cursor() as cur:
            cur.execute("SELECT setval('replicas_id_seq', (SELECT max(id) FROM replicas))")
        raw.commit()
        raw.driver_connection.autocommit = True
        with raw.cursor() as cur:
            cur.execute("VACUUM ANALYZE")  # what autovacuum does on a steady catalogue
    finally:
        raw.close()
        engine.dispose()


def _replicas(aips, checks: list, rnd: random.Random):
    rid = 0
    for a, _s, created, size in aips:
        for name, policy in POLICIES.items():
            rid += 1
            due = first_due(rid, created, policy.interval)
            last = None
            while due <= NOW - timedelta(hours=rnd.uniform(0, 12)):
                if NOW - due < timedelta(days=2 * policy.interval_days) and (
                    not policy.cold or rnd.random() < policy.sample_share
                ):
                    bad = rnd.random() < 0.0005
                    last = due
                    checks.append(
                        (
                            a,
                            name,
                            due,
                            "mismatch" if bad else "ok",
                            FILES_PER_AIP,
                            size,
                            "4 files",
                            "repaired" if bad else None,
                            due if bad else None,
                            "disk-a" if bad and name != "disk-a" else None,
                        )
                    )
                due += policy.interval
            yield (rid, a, name, "verified", created, last, "ok" if last else None, due, due)


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(url: str) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as session:
            counts = {
                t: session.scalar(text(f"SELECT count(*) FROM {t}"))
                for t in ("aips", "files", "replicas", "fixity_checks")
            }
            print("rows:", ", ".join(f"{t} {n:,}" for t, n in counts.items()))

            def batch() -> None:
                rows = due_batch(session, "disk-a", NOW, 1000)
                assert rows, "nothing due: the bench data is wrong"

            ms = timed(batch, 20)
            print(
                f"next due batch (1,000 of one target): median {statistics.median(ms):.1f} ms, "
                f"max {max(ms):.1f} ms   (goal < 100 ms)"
            )
            plan = (
                session.execute(
                    text(
                        "EXPLAIN SELECT * FROM replicas JOIN aips ON aips.id = replicas.aip_id "
                        "WHERE replicas.target = 'disk-a' AND replicas.next_audit_at <= now() "
                        "ORDER BY replicas.next_audit_at LIMIT 1000"
                    )
                )
                .scalars()
                .all()
            )
            print("  plan:", " / ".join(p.strip() for p in plan[:4]))
        with sessions.begin() as session:
            start = time.perf_counter()
            planned = plan_target(session, POLICIES["disk-a"], NOW, timedelta(hours=6))
            took = (time.perf_counter() - start) * 1000
            print(f"plan one tick for one target ({planned.audits} jobs queued): {took:.0f} ms")
            session.rollback()
        with sessions() as session:
            ms = timed(
                lambda: fixity_report(
                    session, NOW - timedelta(days=30), NOW, NOW, policies=POLICIES
                ),
                3,
            )
            report = fixity_report(session, NOW - timedelta(days=30), NOW, NOW, policies=POLICIES)
            checked = sum(t.checks for t in report.targets)
            print(
                f"a month's fixity report ({checked:,} checks, {len(report.failures)} failures): "
                f"median {statistics.median(ms) / 1000:.2f} s, max {max(ms) / 1000:.2f} s"
                "   (goal < 5 s)"
            )
            for t in report.targets:
                print(
                    f"  {t.target}: {t.objects:,} objects, coverage {t.coverage:.1%}, "
                    f"overdue {t.overdue:,}"
                )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--aips", type=int, default=250_000)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    args = parser.parse_args()
    name = f"preserve_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        start = time.perf_counter()
        populate(url, args.aips)
        print(
            f"populated {args.aips:,} AIPs × {FILES_PER_AIP} files in "
            f"{time.perf_counter() - start:.0f} s (database {name})"
        )
        measure(url)
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
