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

    python bench/fscopy.py [--size-mib 1024] [--dir /tmp]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    one, five, fifteen = os.getloadavg()
    print(f"load average before: {one:.2f} {five:.2f} {fifteen:.2f} (2 cores, shared)")
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
