"""One look at every payload file, on every core: format identification (3-3) and the
encryption probe (3-8), in a pool of worker processes that each load the PRONOM registry once.

No file is skipped and nothing is sampled: every file gets its identification, in order.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from preserve.ingest import formats
from preserve.ingest.encryption import encryption_problem
from preserve.ingest.pool import fan_out

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inspection:
    identification: formats.Identification
    encryption: str | None  # why the file is encrypted, or None


def inspect_one(item: tuple[Path, str], engines: str = formats.DEFAULT_ENGINES) -> Inspection:
    path, shown = item
    identification = formats.process_identifier(engines).identify(path, shown)
    try:
        encrypted = encryption_problem(path)
    except Exception as exc:  # a probe must never stop ingest; the file is reported as is
        log.warning("encryption probe failed for %s: %r", shown, exc)
        encrypted = None
    return Inspection(identification, encrypted)


def inspect_many(
    items: Sequence[tuple[Path, str]],
    workers: int = 2,
    engines: str = formats.DEFAULT_ENGINES,
) -> list[Inspection]:
    """Every (absolute path, display path) inspected, in order, identified by ``engines`` (the
    ingest profile's setting); ``workers > 1`` spreads the files over processes
    (:func:`preserve.ingest.pool.fan_out`)."""
    results = fan_out(
        functools.partial(inspect_one, engines=engines),
        items,
        workers,
        initializer=functools.partial(formats.init_worker, engines),
        keep=("inspect", engines),
        serial_up_to=8,
        chunks_per_worker=8,
    )
    for result in results:
        if result.identification.error:
            log.warning(
                "format identification failed for %s: %s",
                result.identification.path,
                result.identification.error,
            )
    return results
