"""One look at every payload file, on every core: format identification (3-3) and the
encryption probe (3-8), in a pool of worker processes that each load the PRONOM registry once.

No file is skipped and nothing is sampled: every file gets its identification, in order.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from preserve.ingest import formats
from preserve.ingest.encryption import encryption_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inspection:
    identification: formats.Identification
    encryption: str | None  # why the file is encrypted, or None


def inspect_one(item: tuple[Path, str]) -> Inspection:
    path, shown = item
    identification = formats._identifier().identify(path, shown)
    try:
        encrypted = encryption_problem(path)
    except Exception as exc:  # a probe must never stop ingest; the file is reported as is
        log.warning("encryption probe failed for %s: %r", shown, exc)
        encrypted = None
    return Inspection(identification, encrypted)


def inspect_many(items: Sequence[tuple[Path, str]], workers: int = 2) -> list[Inspection]:
    """Every (absolute path, display path) inspected, in order; ``workers > 1`` uses processes
    from a ``forkserver`` context (never a fork of a threaded server), chunked so that the
    pool's messaging costs little next to fido's ~5 ms a file."""
    items = list(items)
    if workers <= 1 or len(items) <= 8:
        return [inspect_one(item) for item in items]
    workers = min(workers, len(items))
    chunksize = max(1, min(64, math.ceil(len(items) / (workers * 8))))
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=formats._init_worker) as pool:
        results = list(pool.map(inspect_one, items, chunksize=chunksize))
    for result in results:
        if result.identification.error:
            log.warning(
                "format identification failed for %s: %s",
                result.identification.path,
                result.identification.error,
            )
    return results
