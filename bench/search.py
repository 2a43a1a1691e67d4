"""Lists, search and statistics at scale: PostgreSQL with 1,000,000 AIPs, SQLite with 100,000.

Builds a throwaway database with the real migrations, fills it with synthetic AIPs (and their
SIPs and one file each; Chinese and English titles, 50 fonds, 30 years, three retention
periods, 10 agencies), then times through the same query functions the API calls:

* a filtered page (fonds + year, a code prefix, a submitter's retention, a date range;
  goal p95 < 50 ms), against the unfiltered first page measured in the same run;
* a ``q=`` search page (two-character Chinese, longer Chinese, English, a rare code;
  goal p95 < 200 ms);
* statistics by every dimension (goal < 2 s each).

    python bench/search.py [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                           [--pg-aips 1000000] [--sqlite-aips 100000] [--runs 40] [--only pg]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from preserve.access.holdings.filters import Filters, resolve_sort
from preserve.access.holdings.queries import AIPS, list_page
from preserve.access.statistics.queries import By
from preserve.access.statistics.queries import statistics as stats_query
from preserve.catalog import search_index
from preserve.catalog.db import make_engine, make_sessionmaker, upgrade

TOPICS = ["档案", "财务", "人事", "基建", "科研", "会计", "文书", "统计", "审计", "教育"]
WORDS = ["annual", "report", "budget", "minutes", "policy", "survey", "contract", "permit"]
NOW = datetime(2025, 1, 1, tzinfo=UTC)
TARGETS = ("disk-a", "s3-b")
GOALS = {"page": 0.050, "search": 0.200, "stats": 2.0}


def synthetic(n: int, seed: int = 7) -> Iterator[dict]:
    rnd = random.Random(seed)
    for i in range(n):
        year = 1995 + rnd.randrange(30)
        fonds = f"F{rnd.randrange(50):03d}"
        topic = TOPICS[rnd.randrange(len(TOPICS))] if rnd.random() < 0.6 else "工作"
        if rnd.random() < 0.5:
            title = f"关于{year}年{topic}工作的通知（第{i}号）"
        else:
            title = f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS)} on {topic} no. {i}"
        doc = {
            "title": title,
            "creator": f"{fonds} 办公室",
            "date": f"{year}-{1 + rnd.randrange(12):02d}-{1 + rnd.randrange(28):02d}",
            "retention": rnd.choice(["permanent", "30y", "10y"]),
            "archival_code": f"{fonds}-WS-{year}-{i:07d}",
            "fonds": fonds,
            "year": str(year),
            "keywords": [rnd.choice(WORDS), topic],
        }
        yield {
            "i": i,
            "agency": 1 + rnd.randrange(10),
            "doc": doc,
            "at": NOW - timedelta(seconds=n - i),
            "size": 1000 + rnd.randrange(10**6),
        }


def rows_of(n: int, targets: tuple[str, ...] = TARGETS):
    """(sip, aip, file, replicas) rows in column order of the COPY/INSERT below."""
    for r in synthetic(n):
        sip_id, aip_id = str(uuid.UUID(int=2 * r["i"] + 1)), str(uuid.UUID(int=2 * r["i"] + 2))
        meta = json.dumps(r["doc"], ensure_ascii=False)
        d = search_index.derived(r["doc"])
        doc = r["doc"]
        sip = (
            sip_id,
            r["agency"],
            "PRESERVED",
            "local",
            meta,
            "[]",
            "[]",
            1,
            r["size"],
            aip_id,
            r["at"],
            r["at"],
            "multipart",
            "[]",
            doc["title"],
            doc["archival_code"],
            d["fonds"],
            d["year"],
            d["retention"],
            d["record_date"],
            "",
        )
        aip = (
            aip_id,
            sip_id,
            r["agency"],
            "local",
            doc["title"],
            doc["archival_code"],
            meta,
            1,
            r["size"],
            "k",
            "0" * 64,
            r["at"],
            d["fonds"],
            d["year"],
            d["retention"],
            d["record_date"],
            d["search_text"],
        )
        file = (
            aip_id,
            "doc.pdf",
            r["size"],
            "0" * 64,
            "0" * 128,
            "fmt/276" if r["i"] % 3 else "fmt/43",
        )
        # Two copies each, as the default profile keeps; one in a hundred failed its last audit.
        failed = r["i"] % 100 == 0
        replicas = [
            (
                aip_id,
                target,
                "failed" if failed and target == targets[-1] else "verified",
                r["at"],
                1,
                r["size"],
            )
            for target in targets
        ]
        yield sip, aip, file, replicas


SIP_COLS = (
    "id, agency_id, state, storage_profile, record_metadata, manifest, reasons, file_count, "
    "total_bytes, aip_id, received_at, updated_at, source, check_report, title, "
    "archival_code, fonds, year, retention, record_date, search_text"
)
AIP_COLS = (
    "id, sip_id, agency_id, storage_profile, title, archival_code, record_metadata, "
    "file_count, total_bytes, signing_key_id, tagmanifest_sha256, created_at, fonds, year, "
    "retention, record_date, search_text"
)
FILE_COLS = "aip_id, path, size, sha256, sha512, puid"
REPLICA_COLS = "aip_id, target, state, verified_at, file_count, total_bytes"


def agencies(conn) -> None:
    for a in range(1, 11):
        conn.execute(
            text("INSERT INTO agencies (id, name, created_at) VALUES (:i, :n, :t)"),
            {"i": a, "n": f"agency-{a}", "t": NOW},
        )


def load_postgres(url: str, n: int, targets: tuple[str, ...] = TARGETS) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        agencies(conn)
        for s in search_index.drop_statements("postgresql"):
            conn.execute(text(s))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        batch: list = []
        for row in rows_of(n, targets):
            batch.append(row)
            if len(batch) == 50_000:
                _copy(cur, batch)
                batch = []
        if batch:
            _copy(cur, batch)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        for s in search_index.create_statements("postgresql"):
            conn.execute(text(s))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would: index-only scans need it
    engine.dispose()


def _copy(cur, batch) -> None:
    for index, table, cols in (
        (0, "sips", SIP_COLS),
        (1, "aips", AIP_COLS),
        (2, "files", FILE_COLS),
    ):
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row[index])
    with cur.copy(f"COPY replicas ({REPLICA_COLS}) FROM STDIN") as copy:
        for row in batch:
            for replica in row[3]:
                copy.write_row(replica)


def load_sqlite(url: str, n: int) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        agencies(conn)
        batch: list = []
        for row in rows_of(n):
            batch.append(row)
            if len(batch) == 20_000:
                _insert(conn, batch)
                batch = []
        if batch:
            _insert(conn, batch)
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _insert(conn, batch) -> None:
    raw = conn.connection.driver_connection
    for index, table, cols in (
        (0, "sips", SIP_COLS),
        (1, "aips", AIP_COLS),
        (2, "files", FILE_COLS),
    ):
        marks = ", ".join("?" * len(cols.split(",")))
        values = [
            tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in r[index])
            for r in batch
        ]
        raw.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)
    raw.executemany(
        f"INSERT INTO replicas ({REPLICA_COLS}) VALUES (?, ?, ?, ?, ?, ?)",
        [(*rep[:3], rep[3].isoformat(" "), *rep[4:]) for r in batch for rep in r[3]],
    )


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm: the statement cache and the pages it reads
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def measure(url: str, runs: int, label: str) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    def page(filters: Filters, nth: int = 1) -> Callable[[], object]:
        """Time page ``nth`` alone (its cursor taken once, beforehand)."""
        sort = resolve_sort(None, filters)
        cursor = None
        with sessions() as session:
            for _ in range(nth - 1):
                cursor = list_page(session, AIPS, filters, sort, 100, cursor).next_cursor

        def run() -> object:
            with sessions() as session:
                return list_page(session, AIPS, filters, sort, 100, cursor)

        return run

    baseline = p95(timed(page(Filters()), runs))
    print(f"[{label}] baseline: unfiltered first page p95 {baseline * 1000:.1f} ms")
    cases = {
        "page": {
            "fonds+year": Filters(fonds="F007", year="2010"),
            "code prefix": Filters(archival_code_prefix="F012-WS-2001"),
            "submitter retention": Filters(scope=3, retention="30y"),
            "date range": Filters(
                date_from=datetime(2003, 1, 1).date(), date_to=datetime(2003, 3, 31).date()
            ),
            "page 3 of agency": None,
        },
        "search": {
            "档案 (2 chars)": Filters(q="档案"),
            "档案工作 (4 chars)": Filters(q="档案工作"),
            "budget (English)": Filters(q="budget"),
            "rare code": Filters(q="WS-2010-0000123"),
            "old matches only": Filters(q="通知（第12"),
            "submitter 档案": Filters(scope=3, q="档案"),
        },
    }
    for group, named in cases.items():
        for name, filters in named.items():
            fn = page(Filters(scope=5), 3) if filters is None else page(filters)
            got = p95(timed(fn, runs))
            print(
                f"[{label}] {group:6} {name:22} p95 {got * 1000:8.1f} ms   "
                f"x{got / baseline:5.1f} baseline   {got / GOALS[group]:5.2f} of goal"
            )
    for by in By:
        with sessions() as session:
            start = time.perf_counter()
            rows = stats_query(session, by)
            took = time.perf_counter() - start
        print(
            f"[{label}] stats  by {by.value:10} {took * 1000:8.1f} ms  ({len(rows)} rows)   "
            f"{took / GOALS['stats']:5.2f} of goal"
        )
    engine.dispose()


def run_postgres(admin_url: str, n: int, runs: int) -> None:
    name = f"preserve_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        start = time.perf_counter()
        load_postgres(url, n)
        print(f"[postgresql] loaded {n} AIPs in {time.perf_counter() - start:.0f} s")
        measure(url, runs, "postgresql")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_sqlite(n: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        start = time.perf_counter()
        load_sqlite(url, n)
        print(f"[sqlite] loaded {n} AIPs in {time.perf_counter() - start:.0f} s")
        measure(url, runs, "sqlite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg-aips", type=int, default=1_000_000)
    parser.add_argument("--sqlite-aips", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--only", choices=["pg", "sqlite"])
    args = parser.parse_args()
    if args.only != "pg":
        run_sqlite(args.sqlite_aips, args.runs)
    if args.only != "sqlite":
        run_postgres(args.pg_url, args.pg_aips, args.runs)


if __name__ == "__main__":
    main()
