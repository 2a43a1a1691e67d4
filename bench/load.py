"""Small SIPs under load: concurrent uploaders against one real ``preserve serve``.

For each database (the embedded SQLite and PostgreSQL), a real ``preserve serve`` (uvicorn and
its worker process, two filesystem targets) takes ``--uploaders`` concurrent clients for
``--seconds``, each pushing small SIPs (one ``--file-kib`` KiB text file and its metadata, a
new archival code each) one after another. Printed: SIPs accepted per second, the latency of
the ``POST /v1/sips`` (p50, p99), and how long the worker then takes to bring every accepted
SIP to PRESERVED.

Baseline, measured in the same run against the same server with the same concurrency: an
authenticated ``GET /v1/keys`` (token lookup, one query, JSON): what this server answers per
second when a request does no ingest work. The ratio says how much of the server's capacity
one small SIP costs.

    python bench/load.py [--uploaders 50] [--seconds 60] [--databases sqlite,postgresql]

The load generator runs on the same 2 cores as the server; figures on a busy machine are low.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.databases import throwaway_database
from support.server import Server, cli_env, run_cli

POSTGRES = os.environ.get(
    "PRESERVE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
UPLOADERS = 50
PROFILE = Path(__file__).resolve().parents[1] / "storage_profiles" / "local.toml"


def start(work: Path, database_url: str) -> tuple[Server, str]:
    profiles = work / "profiles"
    profiles.mkdir()
    (profiles / "local.toml").write_text(PROFILE.read_text())
    env = cli_env(work / "var", database_url, profiles)
    # One token stands for all the uploaders: its cap on bodies sent at once is lifted to
    # their number (50 agencies' systems would each have their own token and cap).
    env["PRESERVE_MAX_CONCURRENT_UPLOADS_PER_TOKEN"] = str(max(4, UPLOADERS))
    made = run_cli(env, "db", "upgrade", cwd=work)
    if made.returncode != 0:
        raise SystemExit(f"db upgrade failed: {made.stderr}")
    server = Server(env, work)
    token = run_cli(env, "tokens", "create", "--agency", "bench", "--role", "submitter", cwd=work)
    return server, token.stdout.strip().splitlines()[-1]


async def hammer(
    url: str, uploaders: int, seconds: float, one: Callable[[httpx.AsyncClient, int], Awaitable]
) -> tuple[int, list[float], int]:
    """``uploaders`` loops calling ``one`` until ``seconds`` have passed: (done, latencies,
    failures)."""
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=uploaders, max_keepalive_connections=uploaders)

    async def loop(client: httpx.AsyncClient, worker: int) -> None:
        nonlocal failures
        n = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await one(client, worker * 1_000_000 + n)
                latencies.append(time.perf_counter() - started)
            except (httpx.HTTPError, AssertionError) as exc:
                failures += 1
                if failures <= 3:
                    print(f"  failed: {exc}", file=sys.stderr)
            n += 1

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await asyncio.gather(*(loop(client, w) for w in range(uploaders)))
    return len(latencies), latencies, failures


def sip_request(token: str, kib: int) -> Callable[[httpx.AsyncClient, int], Awaitable]:
    headers = {"Authorization": f"Bearer {token}"}
    text = ("关于档案工作的通知 " * (kib * 1024 // 28 + 1)).encode()[: kib * 1024]

    async def push(client: httpx.AsyncClient, n: int) -> None:
        metadata = {
            "title": f"负载测试 {n}",
            "creator": "bench",
            "date": "2024-03-01",
            "retention": "10y",
            "archival_code": f"LOAD-WS-2024-{n:010d}",
        }
        response = await client.post(
            "/v1/sips",
            headers=headers,
            data={"metadata": json.dumps(metadata, ensure_ascii=False)},
            files={"files": ("notice.txt", text, "text/plain")},
        )
        assert response.status_code == 202, f"{response.status_code} {response.text[:200]}"

    return push


def keys_request(token: str) -> Callable[[httpx.AsyncClient, int], Awaitable]:
    headers = {"Authorization": f"Bearer {token}"}

    async def get(client: httpx.AsyncClient, n: int) -> None:
        response = await client.get("/v1/keys", headers=headers)
        assert response.status_code == 200, response.status_code

    return get


def drain(url: str, token: str, expected: int, timeout: float) -> float | None:
    """Seconds until ``expected`` SIPs of the agency are PRESERVED (None: not within timeout)."""
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=60) as client:
        while time.perf_counter() - started < timeout:
            page = client.get("/v1/statistics", headers=headers, params={"by": "state"})
            counts = {row["key"]: row["records"] for row in page.json().get("rows", [])}
            if counts.get("PRESERVED", 0) >= expected:
                return time.perf_counter() - started
            time.sleep(1.0)
    return None


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def spread(latencies: list[float]) -> str:
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return f"p50 {p50 * 1000:7.0f} ms  p99 {p99 * 1000:7.0f} ms"


def run(database: str, uploaders: int, seconds: float, kib: int, drain_timeout: float) -> None:
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(ignore_cleanup_errors=True)))
        if database == "sqlite":
            url = f"sqlite:///{work / 'var' / 'preserve.db'}"
        else:
            url = stack.enter_context(throwaway_database(POSTGRES, "bench_load"))
        server, token = start(work, url)
        stack.callback(server.stop)
        base_done, base_lat, _ = asyncio.run(
            hammer(server.url, uploaders, min(seconds, 15), keys_request(token))
        )
        base_rate = base_done / min(seconds, 15)
        done, lat, failures = asyncio.run(
            hammer(server.url, uploaders, seconds, sip_request(token, kib))
        )
        rate = done / seconds
        print(f"{database}: {uploaders} uploaders, {seconds:.0f} s, one {kib} KiB file per SIP")
        print(f"  baseline  GET /v1/keys        {base_rate:8.1f} req/s   {spread(base_lat)}")
        print(
            f"  preserve  POST /v1/sips → 202 {rate:8.1f} SIPs/s  {spread(lat)}"
            f"  ({failures} failed)"
        )
        print(f"  ratio     SIPs/s ÷ baseline req/s = {rate / base_rate:.3f}")
        took = drain(server.url, token, done, drain_timeout)
        if took is None:
            print(f"  worker    not all {done} SIPs PRESERVED within {drain_timeout:.0f} s")
        else:
            total = seconds + took
            print(
                f"  worker    all {done} PRESERVED {took:.1f} s after the load ended "
                f"({done / total:.1f} SIPs/s end to end)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploaders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--file-kib", type=int, default=4)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--drain-timeout", type=float, default=900)
    args = parser.parse_args()
    global UPLOADERS
    UPLOADERS = args.uploaders
    one, five, _ = os.getloadavg()
    print(f"load average before: {one:.2f} {five:.2f} (2 cores; other work skews every figure)")
    for database in args.databases.split(","):
        run(database, args.uploaders, args.seconds, args.file_kib, args.drain_timeout)


if __name__ == "__main__":
    main()
