"""Restore throughput from an S3 target against a plain boto3 download of the same objects.

One run: a real ``preserve serve`` (SQLite, a filesystem target first and an S3 target on a
moto server over loopback HTTP) preserves two AIPs, one of a few large files and one of many
small ones; then, for each AIP and alternately (best of ``--rounds``):

- ours: ``preserve restore --from object-store-b`` as the command runs it (the signature and
  the tag manifest checked, every file read from S3, hashed with sha256 and sha512, written,
  fsynced, then renamed into place, a ``recovery`` event recorded): an object of 64 MiB or
  more in parallel ranged GETs of 8 MiB, each written into place as it arrives and hashed in
  order; ``ours-one-get``: the same with ranged reads off (one GET per object, its body read a
  part ahead of the hashing). moto answers a ranged GET by reading the whole object (an 8 MiB
  range of a 256 MiB object costs it about half a whole GET), so against moto ranged reads
  cost what they save against S3;
- baselines, plain boto3 over the same payload objects, no hashing: ``get_object`` with the
  body streamed to a file in 1 MiB reads, and ``download_file`` (the managed transfer:
  threaded ranged GETs for large objects; against moto, which answers a ranged GET of a large
  object slowly, it is the slower of the two); each also with an ``fsync`` of every file,
  which is what "durably restored" costs at the least.

    python bench/restore.py [--size-mib 1024] [--files 4] [--small 2000] [--small-kib 8]
                            [--rounds 2] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from support.moto_server import MotoServer  # noqa: E402
from support.profiles import write_disk_and_s3_profile  # noqa: E402
from support.server import Server, cli_env, run_cli  # noqa: E402

MIB = 1024 * 1024
BOUNDARY = "bench-restore-boundary-2b7c"
BUCKET = "aips-b"
OURS = ("ours", "ours-one-get")
BASELINES = ("get_object", "get_object+fsync", "download_file", "download_file+fsync")


def profile(work: Path, endpoint: str) -> Path:
    return write_disk_and_s3_profile(
        work / "profiles", work / "stores" / "site-a-disk", endpoint, BUCKET
    )


def body(files: list[tuple[str, int]], code: str) -> Iterator[bytes]:
    meta = {
        "title": "restore benchmark",
        "creator": "bench",
        "date": "2024-01-01",
        "retention": "10y",
        "archival_code": code,
    }
    yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'.encode()
    yield json.dumps(meta).encode() + b"\r\n"
    block = bytearray(os.urandom(MIB))
    for n, (name, size) in enumerate(files):
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"'
            "\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        left = size
        while left:
            block[:8] = (n * 1_000_003 + left).to_bytes(8, "big")
            piece = bytes(block[: min(MIB, left)])
            left -= len(piece)
            yield piece
        yield b"\r\n"
    yield f"--{BOUNDARY}--\r\n".encode()


def preserve(server: Server, headers: dict[str, str], files, code: str) -> str:
    with httpx.Client(base_url=server.url, headers=headers, timeout=3600) as client:
        typed = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        pushed = client.post("/v1/sips", content=body(files, code), headers=typed)
        pushed.raise_for_status()
        while True:
            sip = client.get(f"/v1/sips/{pushed.json()['id']}").json()
            if sip["state"] == "PRESERVED":
                return sip["aip_id"]
            if sip["state"] == "REJECTED":
                raise SystemExit(f"benchmark SIP rejected: {sip['reasons']}")
            time.sleep(0.2)


def ours(env: dict[str, str], aip_id: str, out: Path, *, ranged: bool = True) -> float:
    """``ranged=False``: the S3 target's ``ranged_read_threshold_mb`` raised past every object
    (one GET per object, read a part ahead of the hashing)."""
    from preserve.cli.access import run_restore
    from preserve.runtime import Runtime
    from preserve.settings import Settings
    from preserve.storage.s3 import S3Store

    settings = Settings(
        data_dir=Path(env["PRESERVE_DATA_DIR"]),
        database_url=env["PRESERVE_DATABASE_URL"],
        profiles_dir=Path(env["PRESERVE_PROFILES_DIR"]),
        storage_profile="local",
        _env_file=None,
    )
    rt = Runtime(settings)
    if not ranged:
        target = rt.profile().target("object-store-b")
        one_get = target.model_copy(update={"ranged_read_threshold_mb": 1 << 30})
        rt.close()
        rt = Runtime(settings, stores={"object-store-b": S3Store.from_config(one_get)})
    try:
        rt.store("local", "object-store-b")  # the boto3 client, made before the clock starts
        start = time.perf_counter()
        run_restore(rt, aip_id, out, requested="object-store-b", agent="bench")
        return time.perf_counter() - start
    finally:
        rt.close()


def baseline(moto: MotoServer, aip_id: str, out: Path, how: str) -> float:
    from preserve.aip.layout import aip_prefix

    client = moto.client()
    prefix = aip_prefix(aip_id) + "data/"
    start = time.perf_counter()
    keys = [
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for o in page.get("Contents", ())
    ]
    for key in keys:
        path = out / key[len(prefix) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        if how.startswith("download_file"):
            client.download_file(BUCKET, key, str(path))
        else:
            body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
            with open(path, "wb") as f:
                while chunk := body.read(MIB):
                    f.write(chunk)
        if how.endswith("fsync"):
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
    return time.perf_counter() - start


def measure(env, moto, aip_id: str, work: Path, rounds: int) -> dict[str, float]:
    best = dict.fromkeys((*OURS, *BASELINES), float("inf"))
    for n in range(rounds):
        for name in best:
            out = work / f"out-{name}-{n}"
            if name in OURS:
                seconds = ours(env, aip_id, out, ranged=name == "ours")
            else:
                out.mkdir()
                seconds = baseline(moto, aip_id, out, name)
            best[name] = min(best[name], seconds)
            shutil.rmtree(out)
    return best


def report(label: str, total: int, count: int, best: dict[str, float]) -> None:
    print(f"\n{label}: {count} files, {total / MIB:.0f} MiB")
    for name, seconds in best.items():
        print(
            f"  {name:<20} {seconds:7.2f} s  {total / seconds / 1e6:8.1f} MB/s  "
            f"{count / seconds:8.0f} files/s"
        )
    for mine in OURS:
        ratios = "; ".join(f"{name} {best[name] / best[mine]:.2f}" for name in BASELINES)
        print(f"  throughput of {mine} relative to each baseline: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--small-kib", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average before: {load} (2 cores, shared with other work)")
    part = args.size_mib * MIB // args.files
    large = [(f"large/part-{i}.bin", part) for i in range(args.files)]
    kib = args.small_kib * 1024
    small = [(f"small/{i // 500:02d}/f{i:05d}.txt", kib) for i in range(args.small)]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp, MotoServer() as moto:
        work = Path(tmp)
        moto.make_bucket(BUCKET)
        database = f"sqlite:///{work / 'catalogue.db'}"
        env = cli_env(work / "var", database, profile(work, moto.endpoint))
        env.update(STORE_B_KEY="testing", STORE_B_SECRET="testing")
        os.environ.update(STORE_B_KEY="testing", STORE_B_SECRET="testing")
        server = Server(env, work)
        try:
            made = run_cli(env, "tokens", "create", "--agency", "bench", "--role", "submitter")
            headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
            large_id = preserve(server, headers, large, "BENCH-RESTORE-L")
            small_id = preserve(server, headers, small, "BENCH-RESTORE-S")
        finally:
            server.stop()
        for label, aip_id, files in (("large", large_id, large), ("small", small_id, small)):
            best = measure(env, moto, aip_id, work, args.rounds)
            report(label, sum(size for _, size in files), len(files), best)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average after: {load}")


if __name__ == "__main__":
    main()
