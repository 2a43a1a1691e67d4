"""Compute several digests in one pass over the bytes (docs/architecture.md principle 4).

SHA-512 costs about twice SHA-256 here and hashlib releases the GIL on buffers over 2 KiB,
so when more than one algorithm is asked for, each buffer is handed to one thread per
algorithm: the pass runs at about the speed of the slowest algorithm, not their sum.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

CHUNK = 1024 * 1024
DEFAULT_ALGORITHMS = ("sha256", "sha512")


def new_hash(algorithm: str) -> hashlib._Hash:
    if algorithm == "sm3":
        return hashlib.new("sm3")
    return hashlib.new(algorithm)


_POOL_LOCK = threading.Lock()


class MultiHasher:
    """Feeds every chunk to each algorithm; parallel across algorithms for large chunks."""

    _pool: ThreadPoolExecutor | None = None

    def __init__(self, algorithms: Iterable[str] = DEFAULT_ALGORITHMS) -> None:
        self.hashes = {alg: new_hash(alg) for alg in algorithms}
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if len(self.hashes) == 1 or len(data) < 64 * 1024:
            for h in self.hashes.values():
                h.update(data)
            return
        pool = MultiHasher._shared_pool()
        futures = [pool.submit(h.update, data) for h in list(self.hashes.values())[1:]]
        next(iter(self.hashes.values())).update(data)
        for f in futures:
            f.result()

    def hexdigests(self) -> dict[str, str]:
        return {alg: h.hexdigest() for alg, h in self.hashes.items()}

    @classmethod
    def pool(cls) -> ThreadPoolExecutor:
        """The shared threads that hashing (and writing beside it) runs on."""
        return cls._shared_pool()

    @classmethod
    def _shared_pool(cls) -> ThreadPoolExecutor:
        with _POOL_LOCK:
            if cls._pool is None:
                cls._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hash")
            return cls._pool


def hash_stream(
    stream: BinaryIO, algorithms: Iterable[str] = DEFAULT_ALGORITHMS
) -> tuple[dict[str, str], int]:
    """Digests and byte count of everything left in ``stream``."""
    hasher = MultiHasher(algorithms)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buf)
            if not n:
                break
            hasher.update(view[:n])
        else:
            data = stream.read(CHUNK)
            if not data:
                break
            hasher.update(data)
    return hasher.hexdigests(), hasher.size
