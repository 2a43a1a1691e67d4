"""Ingest of one large file over HTTP, upload to PRESERVED, against the plain-tools baseline.

Baseline, measured in the same run on the same file: ``openssl dgst -sha256`` +
``openssl dgst -sha512`` + ``cp`` to two directories (what "hash it both ways and keep two
copies" costs with the fastest tools here). Ours: a real ``preserve serve`` (uvicorn + worker
process, SQLite, two filesystem targets) receiving the file as multipart, hashing sha256 and
sha512 while writing to staging, identifying, bagging, signing, writing two copies and
verifying each by reading it back.

Also, in the same run:

- many small files: one SIP of ``--files`` x ``--file-kib`` (10,000 x 10 KiB) pushed as one
  multipart request, timed to PRESERVED: files per second end to end (goal: 300/s on 2 cores);
- peak RSS of the server process (``VmHWM``) while it receives one ``--rss-gib`` (5 GiB)
  file, up to the 202 (goal: under 250 MB).

    python bench/ingest.py [--size-mib 1024] [--files 10000] [--file-kib 10] [--rss-gib 5]
                           [--only large,many,rss] [--engines fido,siegfried+fido] [--dir /tmp]
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
    "archival_code": "BENCH-WS-2024-0001",
}


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        for i in range(size // len(block)):
            out.write(block[:8] + i.to_bytes(8, "big") + block[16:])


def baseline(src: Path, work: Path, durable: bool = False) -> float:
    """The issue's baseline; with ``durable``, each copy is also fsynced (``sync FILE``), as
    preserve does for staging and for every stored copy, so the two can be compared fairly."""
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    for alg in ("-sha256", "-sha512"):
        subprocess.run(["openssl", "dgst", alg, str(src)], check=True, capture_output=True)
    for name in ("copy-a", "copy-b"):
        (work / name).mkdir()
        subprocess.run(["cp", str(src), str(work / name / src.name)], check=True)
        if durable:
            subprocess.run(["sync", str(work / name / src.name)], check=True)
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


def start_server(
    work: Path, workers: int = 1, engines: str | None = None
) -> tuple[Server, dict[str, str]]:
    profiles = work / "profiles"
    profiles.mkdir()
    if engines:  # the site's ingest profile: the shipped default with these engines
        (profiles / "ingest").mkdir()
        (profiles / "ingest" / "default.json").write_text(
            json.dumps({"identification": {"engines": engines}})
        )
    (profiles / "local.toml").write_text(
        Path(__file__).resolve().parents[1].joinpath("storage_profiles/local.toml").read_text()
    )
    env = cli_env(work / "var", f"sqlite:///{work / 'var' / 'preserve.db'}", profiles)
    env["PRESERVE_IDENTIFY_WORKERS"] = str(workers)
    server = Server(env, work)
    token = run_cli(env, "tokens", "create", "--agency", "bench", "--role", "submitter", cwd=work)
    headers = {
        "Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    return server, headers


def ours(src: Path, work: Path) -> tuple[float, float]:
    server, headers = start_server(work)
    try:
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


def many_body(files: list[Path]):
    meta = {**META, "archival_code": "BENCH-WS-2024-0002"}
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        f"{json.dumps(meta)}\r\n"
    ).encode()
    for path in files:
        yield (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="d{path.parent.name}/{path.name}"\r\n\r\n'
            ).encode()
            + path.read_bytes()
            + b"\r\n"
        )
    yield f"--{BOUNDARY}--\r\n".encode()


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and its live descendants, with their reaped children (a pool's)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0))[1]
        todo += [child for child, (parent, _) in stats.items() if parent == current]
    return total / tick


def many(root: Path, count: int, kib: int, engines: str) -> tuple[float, float, dict[str, float]]:
    """One SIP of ``count`` files of ``kib`` KiB each (in folders of 500) to PRESERVED, the
    formats identified by ``engines`` (the ingest profile's setting)."""
    src = root / "many"
    files = sorted(src.rglob("*.txt")) if src.is_dir() else []
    for i in range(count if not files else 0):
        folder = src / f"{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"f{i:05d}.txt"
        path.write_bytes(
            (f"record {i} ".encode() + os.urandom(kib * 512).hex().encode())[: kib * 1024]
        )
        files.append(path)
    work = root / f"many-server-{engines.replace('+', '-')}"
    work.mkdir()
    server, headers = start_server(work, workers=2, engines=engines)
    marks: dict[str, float] = {}
    try:
        with httpx.Client(base_url=server.url, timeout=3600) as client:
            start = time.perf_counter()
            response = client.post("/v1/sips", content=many_body(files), headers=headers)
            response.raise_for_status()
            accepted = time.perf_counter() - start
            sip_id = response.json()["id"]
            while True:
                state = client.get(f"/v1/sips/{sip_id}", headers=headers).json()["state"]
                marks.setdefault(state, time.perf_counter() - start)
                if state in ("PRESERVED", "REJECTED"):
                    break
                time.sleep(0.2)
            if state != "PRESERVED":
                raise SystemExit(f"the SIP of many files ended {state}")
            marks["cpu"] = cpu_seconds(server.proc.pid)
            return accepted, time.perf_counter() - start, marks
    finally:
        server.stop()


def peak_rss(root: Path, gib: int) -> tuple[float, int]:
    """Seconds to 202 and the serving process's peak RSS (bytes) for one ``gib`` GiB file."""
    src = root / "huge.bin"
    make_file(src, gib * 1024**3)
    work = root / "rss-server"
    work.mkdir()
    server, headers = start_server(work)
    try:
        with httpx.Client(base_url=server.url, timeout=3600) as client:
            start = time.perf_counter()
            response = client.post("/v1/sips", content=body(src), headers=headers)
            response.raise_for_status()
            seconds = time.perf_counter() - start
        status = Path(f"/proc/{server.proc.pid}/status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        return seconds, hwm * 1024
    finally:
        server.stop()
        src.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--file-kib", type=int, default=10)
    parser.add_argument("--rss-gib", type=int, default=5)
    parser.add_argument("--only", default="large,many,rss")
    parser.add_argument(
        "--engines",
        default="fido,siegfried+fido",
        help="identification engines for the many-files SIP, each in turn (fido: the baseline "
        "before Siegfried)",
    )
    parser.add_argument("--dir", default=None, help="where to put the test file (default: tmp)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    one, five, fifteen = os.getloadavg()
    print(
        f"load average before: {one:.2f} {five:.2f} {fifteen:.2f} (2 cores; other work on the "
        "machine skews every figure)"
    )
    with tempfile.TemporaryDirectory(dir=args.dir, ignore_cleanup_errors=True) as tmp:
        for engines in args.engines.split(",") if "many" in parts else ():
            accepted, preserved, marks = many(Path(tmp), args.files, args.file_kib, engines)
            print(f"many files: {args.files} x {args.file_kib} KiB in one SIP, engines {engines}")
            print(f"{'preserve  upload to 202 Accepted':<44} {accepted:7.2f} s")
            cpu = marks.pop("cpu")
            for state, at in marks.items():
                print(f"{'preserve  first seen ' + state:<44} {at:7.2f} s")
            print(
                f"{'preserve  CPU time, server + worker + pool':<44} {cpu:7.2f} s  (on 2 idle "
                f"cores at most {args.files / (cpu / 2):7.1f} files/s)"
            )
            print(
                f"{'preserve  upload to PRESERVED':<44} {preserved:7.2f} s  "
                f"({args.files / preserved:7.1f} files/s; goal >= 300)"
            )
        if "rss" in parts:
            seconds, rss = peak_rss(Path(tmp), args.rss_gib)
            print(
                f"peak RSS: one {args.rss_gib} GiB file received in {seconds:.1f} s "
                f"({args.rss_gib * 1024 / seconds:.0f} MiB/s); server VmHWM "
                f"{rss / 1e6:.0f} MB (goal < 250 MB)"
            )
    if "large" not in parts:
        return
    with tempfile.TemporaryDirectory(dir=args.dir, ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        src = root / "record.bin"
        make_file(src, args.size_mib * 1024 * 1024)
        (root / "baseline-work").mkdir()
        base = baseline(src, root / "baseline-work")
        shutil.rmtree(root / "baseline-work")
        (root / "baseline-durable").mkdir()
        durable = baseline(src, root / "baseline-durable", durable=True)
        shutil.rmtree(root / "baseline-durable")
        subprocess.run(["sync"], check=True)
        (root / "server").mkdir()
        accepted, preserved = ours(src, root / "server")
    mib = args.size_mib
    rows = [
        ("baseline  openssl sha256 + sha512 + cp x2", base),
        ("baseline  same, each copy fsynced", durable),
        ("preserve  upload to 202 Accepted", accepted),
        ("preserve  upload to PRESERVED", preserved),
    ]
    print(f"file: {mib} MiB")
    for label, seconds in rows:
        print(f"{label:<44} {seconds:7.2f} s  ({mib / seconds:7.1f} MiB/s)")
    print(f"{'ratio     preserve / baseline':<44} {preserved / base:7.2f}x  (goal <= 2.0x)")
    print(f"{'ratio     preserve / fsynced baseline':<44} {preserved / durable:7.2f}x")


if __name__ == "__main__":
    main()
