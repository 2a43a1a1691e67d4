"""The public face at scale: search over 100,000 open records on PostgreSQL, and the requests
per second ``preserve serve-public`` answers on this machine.

Builds a throwaway PostgreSQL database with the real migrations, fills it with the synthetic
AIPs of bench/search.py and opens every one (a ``public_records`` row with the publishable
fields, as an approval writes it), then:

* times public search pages through the function the API calls (two-character Chinese, longer
  Chinese, English, a rare archival code, no query; goal p95 < 200 ms), against the staff
  holdings' unfiltered first page measured in the same run (the baseline);
* runs ``preserve serve-public`` (one uvicorn process) and counts the answers to searches
  and record pages from a few client threads for a fixed time, against
  ``/public/v1/catalogues`` (no search: the server's own ceiling) as the baseline.

    python bench/public.py [--pg-url ...] [--records 100000] [--runs 40] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import search as holdings_bench  # bench/search.py: the synthetic records

from preserve.access.holdings.filters import Filters, resolve_sort
from preserve.access.holdings.queries import AIPS, list_page
from preserve.access.public_catalogue import search_page
from preserve.catalog.db import make_engine, make_sessionmaker, upgrade
from support.databases import throwaway_database

GOAL = 0.200
QUERIES = {
    "档案 (2 chars)": "档案",
    "档案工作 (4 chars)": "档案工作",
    "budget (English)": "budget",
    "rare code": "WS-2010-0000123",
    "no query": None,
}
OPEN_ALL = """
INSERT INTO public_records (id, title, fields, opened_at, search_text)
SELECT id, title,
       json_build_object('title', title, 'archival_code', archival_code,
                         'date', record_date, 'fonds', fonds),
       created_at,
       concat_ws(E'\\n', title, archival_code, record_date, fonds)
FROM aips
"""


def open_everything(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OPEN_ALL))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE public_records"))
    engine.dispose()


def measure_queries(url: str, runs: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    def baseline() -> object:
        with sessions() as session:
            f = Filters()
            return list_page(session, AIPS, f, resolve_sort(None, f), 20, None)

    base = holdings_bench.p95(holdings_bench.timed(baseline, runs))
    print(f"[postgresql] baseline: staff holdings first page p95 {base * 1000:.1f} ms")
    for name, q in QUERIES.items():

        def run(q=q) -> object:
            with sessions() as session:
                return search_page(session, q, 20, None)

        got = holdings_bench.p95(holdings_bench.timed(run, runs))
        print(
            f"[postgresql] public search {name:20} p95 {got * 1000:8.1f} ms   "
            f"x{got / base:5.1f} baseline   {got / GOAL:5.2f} of goal"
        )
    engine.dispose()


def measure_server(url: str, seconds: float, threads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = 18000 + os.getpid() % 1000
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRESERVE_")}
        env.update(
            PRESERVE_DATA_DIR=tmp,
            PRESERVE_DATABASE_URL=url,
            PRESERVE_PUBLIC_RATE_BURST="100000000",
            PRESERVE_PUBLIC_RATE_PER_SECOND="100000000",
            PRESERVE_LOG_LEVEL="WARNING",
        )
        cmd = [sys.executable, "-m", "preserve", "serve-public", "--port", str(port)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/public"
        try:
            _wait(base)
            some_id = httpx.get(f"{base}/v1/records?limit=1").json()["items"][0]["id"]
            floor = _rps(f"{base}/v1/catalogues", seconds, threads)
            print(f"[serve-public] baseline /public/v1/catalogues {floor:7.1f} req/s")
            for name, path in {
                "search 档案": "/v1/records?q=档案",
                "search budget": "/v1/records?q=budget",
                "record JSON": f"/v1/records/{some_id}",
                "record page": f"/records/{some_id}",
            }.items():
                got = _rps(base + path, seconds, threads)
                print(f"[serve-public] {name:15} {got:7.1f} req/s   x{got / floor:4.2f} baseline")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/v1/keys", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("serve-public did not start")


def _rps(url: str, seconds: float, threads: int) -> float:
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                response = client.get(url)
                assert response.status_code == 200, response.text
                counts[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with throwaway_database(args.pg_url, "preserve_bench") as url:
        upgrade(url)
        start = time.perf_counter()
        holdings_bench.load_postgres(url, args.records)
        open_everything(url)
        print(f"[postgresql] {args.records} open records in {time.perf_counter() - start:.0f} s")
        measure_queries(url, args.runs)
        measure_server(url, args.seconds, args.threads)


if __name__ == "__main__":
    main()
