"""Fixity audit throughput against the plain-tools baselines, measured side by side in one run.

1. One 1 GiB file: ``openssl dgst -sha256`` (the single-core SHA-256 limit here) against
   :func:`preserve.audit.auditor.audit_replica` with one worker; then an AIP of two 1 GiB files
   audited with two workers against the same single-core baseline (goals: ≥ 0.9× and ≥ 1.7×).
2. One bag of 10,000 × 10 KiB files: bagit-python's ``Bag(path).validate()`` with sha256 only
   (a copy of the bag with only sha256 manifests, payload hard-linked) against our audit of the
   same payload (goal: ≥ 3×). Ours checks more: the signature over the tag manifest, every tag
   file, and each payload file against both the catalogue's digest and the bag manifest.

Every file is read once before timing, so both sides read from the page cache; each figure is
the best of ``--repeat`` runs.

    python bench/fixity.py [--size-mib 1024] [--files 10000] [--repeat 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bagit

from preserve.aip import bag as ourbag
from preserve.aip.layout import aip_prefix
from preserve.audit.auditor import AuditOutcome, audit_replica
from preserve.catalog.models import Aip, File
from preserve.storage.filesystem import FilesystemStore
from preserve.trust import keys
from preserve.trust.signing import tagmanifest_signer

MiB = 1024 * 1024


def best(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def make_bag(store_root: Path, key, payload: dict[str, Callable[[Path], None]]) -> Aip:
    """Write an AIP bag (our layout, signed) with the given payload writers; return its Aip."""
    aip = Aip(id=str(__import__("uuid").uuid4()), agency_id=1, storage_profile="bench")
    root = store_root / aip_prefix(aip.id)
    entries = []
    for rel, write in payload.items():
        path = root / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        digests = {a: hashlib.new(a) for a in ourbag.PAYLOAD_ALGORITHMS}
        with open(path, "rb") as f:
            while chunk := f.read(MiB):
                for h in digests.values():
                    h.update(chunk)
        hexd = {a: h.hexdigest() for a, h in digests.items()}
        entries.append(ourbag.PayloadEntry(rel, path.stat().st_size, hexd))
    sign = tagmanifest_signer(key, ourbag.TAGMANIFEST)
    built = ourbag.write_bag(root, entries, {"Source-Organization": "bench"}, {}, sign)
    aip.tagmanifest_sha256 = built.tagmanifest_sha256
    aip.files = [File(path=e.path, size=e.size, sha256=e.digests["sha256"]) for e in entries]
    return aip


def big_writer(size: int, seed: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        block = os.urandom(MiB)
        with open(path, "wb") as out:
            for i in range(size // MiB):
                out.write(block[:8] + (i + seed * 10**9).to_bytes(8, "big") + block[16:])

    return write


def warm(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                while f.read(8 * MiB):
                    pass


def audit_fn(store, aip, trusted, workers: int) -> Callable[[], None]:
    def run() -> None:
        result = audit_replica(store, aip, trusted, workers=workers)
        assert result.outcome == AuditOutcome.OK, result.problems[:3]

    return run


def large_files(work: Path, key, trusted, size: int, repeat: int) -> None:
    store = FilesystemStore("bench", work / "store-large")
    one = make_bag(store.root, key, {"big.bin": big_writer(size, 1)})
    two = make_bag(store.root, key, {"a.bin": big_writer(size, 2), "b.bin": big_writer(size, 3)})
    warm(store.root)
    big = store.root / aip_prefix(one.id) / "data" / "big.bin"
    openssl = best(
        repeat,
        lambda: subprocess.run(
            ["openssl", "dgst", "-sha256", str(big)], check=True, capture_output=True
        ),
    )
    mb = size / 1e6
    base = mb / openssl
    print(f"\n== one {size // MiB} MiB file ==")
    print(f"openssl dgst -sha256          {base:8.0f} MB/s")
    for label, aip, workers, total in (
        ("audit, 1 worker, 1 file", one, 1, mb),
        ("audit, 1 worker, 2 files", two, 1, 2 * mb),
        ("audit, 2 workers, 2 files", two, 2, 2 * mb),
    ):
        rate = total / best(repeat, audit_fn(store, aip, trusted, workers))
        print(f"{label:30s}{rate:8.0f} MB/s   {rate / base:5.2f}× openssl")


def small_files(work: Path, key, trusted, count: int, repeat: int) -> None:
    store = FilesystemStore("bench", work / "store-small")
    payload = {f"d{i // 1000:02d}/f{i:05d}.bin": _small(i) for i in range(count)}
    aip = make_bag(store.root, key, payload)
    ours = store.root / aip_prefix(aip.id)
    theirs = _sha256_only_copy(ours, work / "bagit-copy")
    warm(ours)
    print(f"\n== one bag of {count:,} × 10 KiB files ==")

    def validate() -> None:
        bagit.Bag(str(theirs)).validate(processes=1)

    base = count / best(repeat, validate)
    print(f"bagit-python Bag().validate(), sha256  {base:9,.0f} files/s")
    for workers in (1, 2):
        rate = count / best(repeat, audit_fn(store, aip, trusted, workers))
        label = f"audit, {workers} worker(s)"
        print(f"{label:39s}{rate:9,.0f} files/s   {rate / base:5.2f}× bagit")


def _small(i: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(i.to_bytes(8, "big") + os.urandom(10 * 1024 - 8))

    return write


def _sha256_only_copy(bag_root: Path, dest: Path) -> Path:
    """The same payload (hard links) with only the sha256 manifests, for bagit-python."""
    for src in (bag_root / "data").rglob("*"):
        target = dest / src.relative_to(bag_root)
        if src.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, target)
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt"):
        shutil.copy(bag_root / name, dest / name)
    tags = {
        n: hashlib.sha256((dest / n).read_bytes()).hexdigest()
        for n in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt")
    }
    (dest / "tagmanifest-sha256.txt").write_bytes(ourbag.manifest_text(tags.items()))
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=None, help="Where to build the test data.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="preserve-bench-fixity-", dir=args.dir))
    try:
        key = keys.load_or_create(work / "keys")
        trusted = {key.key_id: key.public}
        print(f"cores: {os.cpu_count()}, data in {work}")
        large_files(work, key, trusted, args.size_mib * MiB, args.repeat)
        small_files(work, key, trusted, args.files, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
