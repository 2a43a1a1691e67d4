"""Copying one large file to two filesystem targets and proving each copy, against plain tools.

Baseline, in the same run, of the same file: ``cp`` to two directories with each copy fsynced
(``sync FILE``), then ``openssl dgst -sha256`` of each copy (the read-back proof), and the same
with ``openssl dgst -sha512`` of the source added (what ingest hashes besides). Ours: what a copy
to a filesystem target does (:meth:`FilesystemStore.put`, fsync and rename, then one hashing read
of the target, as :func:`preserve.storage.copy.copy_bag` proves it), in four ways:

- ``buffered``: the bytes through Python's buffers (the way before the kernel's copy);
- ``kernel``: ``os.sendfile`` from the source file (a regular file, reads not paced);
- each of them to the two targets one after another, and both at once (two threads).

Ratios are ours / baseline in seconds (below 1: ours is faster). The page cache holds the
source; every copy is fsynced, as the baseline's.

Also (``--files``, 10,000 x 10 KiB): :func:`copy_bag` of a bag of small files to a filesystem
target, each file fsynced and proven by a read-back, its name made durable one directory fsync
per file (the way before) against one per directory and group of the bag (now), and against
``cp -r`` + ``sync`` of the same folder as the plain-tools baseline.

    python bench/fscopy.py [--size-mib 1024] [--files 10000] [--only large,small] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from preserve.digests import hash_stream
from preserve.storage.copy import DirectorySource, copy_bag
from preserve.storage.filesystem import FilesystemStore


class _NoFileno(io.RawIOBase):
    """The source without its descriptor: what the buffered way sees."""

    def __init__(self, stream: io.BufferedReader) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._stream.readinto(buffer)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        for i in range(size // len(block)):
            out.write(block[:8] + i.to_bytes(8, "big") + block[16:])


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def baseline(src: Path, work: Path, sha512: bool) -> float:
    def run() -> None:
        if sha512:
            subprocess.run(
                ["openssl", "dgst", "-sha512", str(src)], check=True, capture_output=True
            )
        for n in (1, 2):
            dest = work / f"copy{n}"
            subprocess.run(["cp", str(src), str(dest)], check=True)
            subprocess.run(["sync", str(dest)], check=True)
            subprocess.run(
                ["openssl", "dgst", "-sha256", str(dest)], check=True, capture_output=True
            )

    seconds = timed(run)
    for n in (1, 2):
        (work / f"copy{n}").unlink()
    return seconds


def ours(src: Path, work: Path, kernel: bool, parallel: bool) -> float:
    stores = [FilesystemStore(f"t{n}", work / f"target{n}") for n in (1, 2)]

    def one(store: FilesystemStore) -> None:
        with open(src, "rb") as f:
            store.put("aips/ab/cd/x/data/record.bin", f if kernel else _NoFileno(f))
        with store.open("aips/ab/cd/x/data/record.bin") as back:
            hash_stream(back, ("sha256",))

    def run() -> None:
        if parallel:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(one, stores))
        else:
            for store in stores:
                one(store)

    seconds = timed(run)
    for n in (1, 2):
        shutil.rmtree(work / f"target{n}")
    return seconds


def small(root: Path, files: int) -> None:
    bag = root / "bag"
    expected: dict[str, str] = {}
    for i in range(files):
        relpath = f"data/{i // 500:03d}/f{i:05d}.txt"
        data = (f"record {i} ".encode() + os.urandom(5120).hex().encode())[:10240]
        (bag / relpath).parent.mkdir(parents=True, exist_ok=True)
        (bag / relpath).write_bytes(data)
        expected[relpath] = hashlib.sha256(data).hexdigest()
    for name in ("bagit.txt", "bag-info.txt", "tagmanifest-sha256.txt"):
        (bag / name).write_bytes(name.encode())
        expected[name] = hashlib.sha256(name.encode()).hexdigest()
    subprocess.run(["sync"], check=True)

    def plain() -> None:
        subprocess.run(["cp", "-r", str(bag), str(root / "plain")], check=True)
        subprocess.run(["sync", "-f", str(root / "plain")], check=True)

    base = timed(plain)
    print(f"{files} x 10 KiB, one bag, copied and proven (read back, sha256) to a filesystem:")
    print(
        f"  {'baseline cp -r + sync -f (no proof)':<46} {base:6.2f} s  {files / base:7.0f} files/s"
    )
    for label, per_file in (
        ("ours, one directory fsync per file (before)", True),
        ("ours, one fsync per directory and group (now)", False),
    ):
        store = FilesystemStore("t", root / ("per-file" if per_file else "per-group"))
        if per_file:
            store.sync_names = None  # type: ignore[method-assign]  # copy_bag then uses put()
        seconds = timed(lambda s=store: copy_bag(DirectorySource(bag), s, "ab" * 16, expected, []))
        print(
            f"  {label:<46} {seconds:6.2f} s  {files / seconds:7.0f} files/s  "
            f"ratio to baseline {seconds / base:4.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--only", default="large,small")
    args = parser.parse_args()
    one, five, fifteen = os.getloadavg()
    print(f"load average before: {one:.2f} {five:.2f} {fifteen:.2f} (2 cores, shared)")
    if "small" in args.only:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            small(Path(tmp), args.files)
    if "large" not in args.only:
        return
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        src = root / "record.bin"
        make_file(src, args.size_mib * 1024 * 1024)
        subprocess.run(["cat", str(src)], check=True, stdout=subprocess.DEVNULL)  # page cache
        mib = args.size_mib
        base = baseline(src, root, sha512=False)
        base512 = baseline(src, root, sha512=True)
        print(f"{mib} MiB to two targets, each fsynced and read back (sha256):")
        print(f"  {'baseline cp + sync + openssl sha256, x2':<46} {base:6.2f} s")
        print(f"  {'  the same + openssl sha512 of the source':<46} {base512:6.2f} s")
        for kernel in (False, True):
            for parallel in (False, True):
                label = f"ours {'kernel' if kernel else 'buffered'}, " + (
                    "both targets at once" if parallel else "one target after the other"
                )
                seconds = ours(src, root, kernel, parallel)
                print(f"  {label:<46} {seconds:6.2f} s  ratio to baseline {seconds / base:4.2f}x")


if __name__ == "__main__":
    main()
