"""Access: restoring an AIP from the named or the nearest healthy copy, and recording access.

Each attempt is a PREMIS ``recovery`` event (success or failure, with the target and the
reason); when no target was named, a copy that fails verification is passed over for the
next candidate and the restore goes on from there, leaving nothing behind from the failed try.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from preserve.access.restore import RestoreResult, restore_aip
from preserve.access.sources import AipRecord, Attempts, load_record, requested_or_candidates
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.errors import IntegrityError
from preserve.runtime import Runtime
from preserve.storage.base import StorageError

RESTORE_WORKERS = 4
"""Files fetched at once; ``progress`` is thread-safe in the CLI (rich) and the drill."""


@dataclass
class RestoreProgress:
    """Callbacks for a progress display: a new attempt (target, bytes), then bytes done."""

    start: Callable[[str, int], None]
    advance: Callable[[int], None]


def restore(
    rt: Runtime,
    aip_id: str,
    destination: Path,
    *,
    requested: str | None = None,
    pattern: str | None = None,
    progress: RestoreProgress | None = None,
    agent: str = "cli",
) -> RestoreResult:
    """Restore from ``requested``, or from each healthy candidate in turn until one verifies."""
    with rt.sessions.begin() as session:
        record = load_record(session, aip_id)
    total = sum(
        f.size for p, f in record.files.items() if pattern is None or fnmatch.fnmatch(p, pattern)
    )
    attempts = Attempts()
    trusted = rt.trusted_keys()
    for target in requested_or_candidates(rt, record, requested):
        if progress is not None:
            progress.start(target, total)
        try:
            result = restore_aip(
                rt.store(record.profile, target),
                aip_id,
                destination,
                trusted,
                catalogue={p: f.sha256 for p, f in record.files.items()},
                tagmanifest_sha256=record.tagmanifest_sha256,
                pattern=pattern,
                progress=progress.advance if progress is not None else None,
                workers=RESTORE_WORKERS,
            )
        except (StorageError, IntegrityError) as exc:
            record_recovery(rt, record, target, Outcome.FAILURE, str(exc), agent)
            if requested is not None:
                raise
            attempts.add(target, exc)
            continue
        detail = f"{result.files} files, {result.bytes} bytes restored to {destination}"
        record_recovery(rt, record, target, Outcome.SUCCESS, detail, agent)
        return result
    raise attempts.error(aip_id)


def record_recovery(
    rt: Runtime, record: AipRecord, target: str, outcome: Outcome, detail: str, agent: str
) -> None:
    _record(rt, EventType.RECOVERY, record, target, outcome, detail, agent)


def record_access(
    rt: Runtime, record: AipRecord, target: str, outcome: Outcome, detail: str, agent: str
) -> None:
    _record(rt, EventType.ACCESS, record, target, outcome, detail, agent)


def _record(
    rt: Runtime,
    kind: EventType,
    record: AipRecord,
    target: str,
    outcome: Outcome,
    detail: str,
    agent: str,
) -> None:
    with rt.sessions.begin() as session:
        record_event(
            session,
            kind,
            outcome,
            object_type="aip",
            object_id=record.aip_id,
            agency_id=record.agency_id,
            target=target,
            detail=detail,
            agent=agent,
        )
