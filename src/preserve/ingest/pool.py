"""The one process-pool fan-out of ingest: a function over many files, in order, on every core.

Format identification (:func:`preserve.ingest.formats.identify_many`) and the whole look at a
file (:func:`preserve.ingest.inspect.inspect_many`) both run here. Workers come from a
``forkserver`` context (never a fork of a threaded server process); each builds its PRONOM
identifiers once in its initializer and receives the items in chunks, so that the pool's
messaging costs little next to identifying a file. As with any spawn/forkserver pool, the main
program must be importable (a script piped on stdin is not).

A pool asked for with ``keep`` stays up for the next call with the same key, for the life of
the process: starting one (a process per worker, each loading Siegfried's and fido's
signatures) took 6 of the 8 seconds a 20-file SIP spent in the worker on a loaded machine, on
every SIP. A kept pool whose process has died is replaced, and the call made again once; at most
``MAX_KEPT`` are kept, the one used longest ago stopped to make room.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_kept: dict[tuple[Hashable, int], ProcessPoolExecutor] = {}  # oldest first
_kept_lock = threading.Lock()
MAX_KEPT = 2  # pools kept at once (a worker uses one engine choice; tests use several)


def fan_out(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    *,
    initializer: Callable[[], None] | None = None,
    serial_up_to: int = 1,
    chunks_per_worker: int = 4,
    keep: Hashable | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, in a pool of ``workers`` processes when ``workers > 1``
    and there are more than ``serial_up_to`` items (fewer are not worth a pool's start);
    ``initializer`` runs once in each worker process. With ``keep``, the pool is kept under
    that key (which must name what ``initializer`` sets up) for the next call."""
    items = list(items)
    if workers <= 1 or len(items) <= serial_up_to:
        return [fn(item) for item in items]
    chunksize = max(1, min(64, math.ceil(len(items) / (workers * chunks_per_worker))))
    if keep is None:
        with _new_pool(min(workers, len(items)), initializer) as pool:
            return list(pool.map(fn, items, chunksize=chunksize))
    try:
        return list(_kept_pool(keep, workers, initializer).map(fn, items, chunksize=chunksize))
    except BrokenProcessPool:
        _discard(keep, workers)  # a worker died (killed, or out of memory): start afresh, once
        return list(_kept_pool(keep, workers, initializer).map(fn, items, chunksize=chunksize))


def shutdown_kept_pools() -> None:
    """Stop every kept pool (at exit, and for tests that count processes)."""
    with _kept_lock:
        pools = list(_kept.values())
        _kept.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def _new_pool(workers: int, initializer: Callable[[], None] | None) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer)


def _kept_pool(
    keep: Hashable, workers: int, initializer: Callable[[], None] | None
) -> ProcessPoolExecutor:
    retired = []
    with _kept_lock:
        pool = _kept.pop((keep, workers), None)
        if pool is None:
            pool = _new_pool(workers, initializer)
            while len(_kept) >= MAX_KEPT:
                retired.append(_kept.pop(next(iter(_kept))))
        _kept[(keep, workers)] = pool  # the newest last
    for old in retired:
        old.shutdown(wait=False)  # finishes what it holds, then its processes exit
    return pool


def _discard(keep: Hashable, workers: int) -> None:
    with _kept_lock:
        pool = _kept.pop((keep, workers), None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


atexit.register(shutdown_kept_pools)
