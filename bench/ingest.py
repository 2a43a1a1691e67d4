"""Ingest of one large file over HTTP, upload to PRESERVED, against the plain-tools baseline.

Baseline, measured in the same run on the same file: ``openssl dgst -sha256`` +
``openssl dgst -sha512`` + ``cp`` to two directories (what "hash it both ways and keep two
copies" costs with the fastest tools here). Ours: a real ``preserve serve`` (uvicorn + worker
process, SQLite, two filesystem targets) receiving the file as multipart, hashing sha256 and
sha512 while writing to staging, identifying, bagging, signing, writing two copies and
verifying each by reading it back.

    python bench/ingest.py [--size-mib 1024] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.server import Server, cli_env, run_cli

BOUNDARY = "bench-boundary-9f8e7d6c"
META = {
    "title": "benchmark record",
    "creator": "bench",
    "date": "2024-01-01",
    "retention": "10y",
    "archival_code": "BENCH-0001",
}


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        for i in range(size // len(block)):
            out.write(block[:8] + i.to_bytes(8, "big") + block[16:])


def baseline(src: Path, work: Path) -> float:
    start = time.perf_counter()
    for alg in ("-sha256", "-sha512"):
        subprocess.run(["openssl", "dgst", alg, str(src)], check=True, capture_output=True)
    for name in ("copy-a", "copy-b"):
        (work / name).mkdir()
        subprocess.run(["cp", str(src), str(work / name / src.name)], check=True)
    return time.perf_counter() - start


def body(src: Path):
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        f"{json.dumps(META)}\r\n--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="{src.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    with open(src, "rb") as f:
        while chunk := f.read(1024 * 1024):
            yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def ours(src: Path, work: Path) -> tuple[float, float]:
    profiles = work / "profiles"
    profiles.mkdir()
    (profiles / "local.toml").write_text(
        Path(__file__).resolve().parents[1].joinpath("storage_profiles/local.toml").read_text()
    )
    env = cli_env(work / "var", f"sqlite:///{work / 'var' / 'preserve.db'}", profiles)
    server = Server(env, work)
    try:
        token = run_cli(
            env, "tokens", "create", "--agency", "bench", "--role", "submitter", cwd=work
        )
        headers = {
            "Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        }
        with httpx.Client(base_url=server.url, timeout=600) as client:
            start = time.perf_counter()
            response = client.post("/v1/sips", content=body(src), headers=headers)
            response.raise_for_status()
            accepted = time.perf_counter() - start
            sip_id = response.json()["id"]
            while client.get(f"/v1/sips/{sip_id}", headers=headers).json()["state"] != "PRESERVED":
                time.sleep(0.05)
            return accepted, time.perf_counter() - start
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=None, help="where to put the test file (default: tmp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        src = root / "record.bin"
        make_file(src, args.size_mib * 1024 * 1024)
        (root / "baseline-work").mkdir()
        base = baseline(src, root / "baseline-work")
        shutil.rmtree(root / "baseline-work")
        (root / "server").mkdir()
        accepted, preserved = ours(src, root / "server")
    mib = args.size_mib
    rows = [
        ("baseline  openssl sha256 + sha512 + cp x2", base),
        ("preserve  upload to 202 Accepted", accepted),
        ("preserve  upload to PRESERVED", preserved),
    ]
    print(f"file: {mib} MiB")
    for label, seconds in rows:
        print(f"{label:<44} {seconds:7.2f} s  ({mib / seconds:7.1f} MiB/s)")
    print(f"{'ratio     preserve / baseline':<44} {preserved / base:7.2f}x  (goal <= 2.0x)")


if __name__ == "__main__":
    main()
