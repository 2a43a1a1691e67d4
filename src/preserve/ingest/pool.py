"""The one process-pool fan-out of ingest: a function over many files, in order, on every core.

Format identification (:func:`preserve.ingest.formats.identify_many`) and the whole look at a
file (:func:`preserve.ingest.inspect.inspect_many`) both run here. Workers come from a
``forkserver`` context (never a fork of a threaded server process); each builds its PRONOM
identifier once in its initializer (pool start ~0.5 s) and receives the items in
chunks, so that the pool's messaging costs little next to fido's ~5 ms a file. As with any
spawn/forkserver pool, the main program must be importable (a script piped on stdin is not).
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def fan_out(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    *,
    initializer: Callable[[], None] | None = None,
    serial_up_to: int = 1,
    chunks_per_worker: int = 4,
) -> list[R]:
    """``[fn(item) for item in items]``, in a pool of ``workers`` processes when ``workers > 1``
    and there are more than ``serial_up_to`` items (fewer are not worth a pool's start);
    ``initializer`` runs once in each worker process."""
    items = list(items)
    if workers <= 1 or len(items) <= serial_up_to:
        return [fn(item) for item in items]
    workers = min(workers, len(items))
    chunksize = max(1, min(64, math.ceil(len(items) / (workers * chunks_per_worker))))
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer) as pool:
        return list(pool.map(fn, items, chunksize=chunksize))
