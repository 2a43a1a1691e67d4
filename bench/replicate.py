"""Replication throughput to an S3 target (moto's server over loopback HTTP) against boto3.

Baseline, in the same run, to the same server, of the same files: boto3's ``upload_file``
with its default transfer settings (multipart with 10 threads for a large file; one file
after another for small ones). Ours, two ways:

- ``put``: :meth:`S3Store.put` alone, one file after another: a streaming multipart upload
  with ``ChecksumAlgorithm=SHA256`` on every part, the write-once check before it and the
  server's checksum compared with our own after it;
- ``copy``: what a replication job does, :func:`copy_bag`: one listing of the target, then
  every file put as above and proven by reading it back and hashing it here (small files
  several at a time, as the profile's ``max_concurrency`` allows).

Workloads: one file of ``--size-mib`` (1 GiB) and ``--files`` small files of ``--file-kib``
(1,000 x 10 KiB). Ratios are throughput ours / baseline (above 1: ours is faster).

    python bench/replicate.py [--size-mib 1024] [--files 1000] [--file-kib 10] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from preserve.storage.copy import DirectorySource, copy_bag
from preserve.storage.profiles import S3Target
from preserve.storage.s3 import S3Store
from support.moto_server import MotoServer

MiB = 1024 * 1024


def make_files(root: Path, size_mib: int, files: int, file_kib: int) -> tuple[Path, list[Path]]:
    big = root / "big" / "data" / "big.bin"
    big.parent.mkdir(parents=True)
    block = os.urandom(MiB)
    with open(big, "wb") as out:
        for i in range(size_mib):
            out.write(i.to_bytes(8, "big") + block[8:])
    small = []
    for i in range(files):
        path = root / "small" / "data" / f"dir-{i % 20:02}" / f"record-{i:05}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(i.to_bytes(8, "big") + os.urandom(file_kib * 1024 - 8))
        small.append(path)
    return big, small


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def store_for(moto: MotoServer, bucket: str) -> S3Store:
    os.environ.setdefault("BENCH_S3_KEY", "testing")
    os.environ.setdefault("BENCH_S3_SECRET", "testing")
    target = S3Target(
        name="bench-target",
        kind="s3",
        site="b",
        media="object-storage",
        bucket=bucket,
        endpoint=moto.endpoint,
        region="us-east-1",
        access_key_env="BENCH_S3_KEY",
        secret_key_env="BENCH_S3_SECRET",
    )
    return S3Store.from_config(target)


def fresh_bucket(moto: MotoServer) -> str:
    name = f"bench-{uuid.uuid4().hex[:12]}"
    moto.client().create_bucket(Bucket=name)
    return name


def drop_bucket(moto: MotoServer, bucket: str) -> None:
    client = moto.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", ()):
            client.delete_object(Bucket=bucket, Key=obj["Key"])
    client.delete_bucket(Bucket=bucket)


def run_workload(moto: MotoServer, root: Path, paths: list[Path]) -> dict[str, float]:
    """Seconds for baseline, put and copy of ``paths`` (bag root ``root``)."""
    import boto3
    from botocore.config import Config

    rel = {p: p.relative_to(root).as_posix() for p in paths}
    expected = {rel[p]: sha256_of(p) for p in paths}
    baseline_client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=moto.endpoint, config=Config(s3={"addressing_style": "path"}))
    results = {}

    bucket = fresh_bucket(moto)
    results["baseline"] = timed(
        lambda: [baseline_client.upload_file(str(p), bucket, rel[p]) for p in paths]
    )
    drop_bucket(moto, bucket)

    bucket = fresh_bucket(moto)
    store = store_for(moto, bucket)

    def put_all() -> None:
        for p in paths:
            with open(p, "rb") as f:
                info = store.put(rel[p], f)
            assert info.checksum_confirmed and info.sha256 == expected[rel[p]]

    results["put"] = timed(put_all)
    drop_bucket(moto, bucket)

    bucket = fresh_bucket(moto)
    store = store_for(moto, bucket)
    sizes = {rel[p]: p.stat().st_size for p in paths}
    aip_id = str(uuid.uuid4())
    results["copy"] = timed(
        lambda: copy_bag(DirectorySource(root), store, aip_id, expected, [], sizes=sizes)
    )
    drop_bucket(moto, bucket)
    return results


def report(title: str, seconds: dict[str, float], volume: float, unit: str) -> None:
    base = volume / seconds["baseline"]
    print(f"\n{title}")
    print(f"  {'':34} {'seconds':>9} {unit:>10} {'ratio':>7}")
    rows = [
        ("boto3 upload_file (baseline)", "baseline"),
        ("ours: S3Store.put", "put"),
        ("ours: copy_bag, proven by read-back", "copy"),
    ]
    for label, key in rows:
        rate = volume / seconds[key]
        print(f"  {label:34} {seconds[key]:9.2f} {rate:10.1f} {rate / base:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", "--size", type=int, default=1024, dest="size_mib")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-kib", type=int, default=10)
    parser.add_argument("--dir", default=None, help="Where to write the test files.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-replicate-", dir=args.dir))
    try:
        big, small = make_files(work, args.size_mib, args.files, args.file_kib)
        with MotoServer() as moto:
            print(f"moto server {moto.endpoint}; files under {work}")
            large = run_workload(moto, work / "big", [big])
            many = run_workload(moto, work / "small", small)
        report(f"one file of {args.size_mib} MiB (MB/s)", large, args.size_mib * MiB / 1e6, "MB/s")
        report(f"{args.files} files of {args.file_kib} KiB (files/s)", many, args.files, "files/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
