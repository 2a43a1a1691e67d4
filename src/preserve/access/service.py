"""Access: restoring an AIP from the named or the nearest healthy copy, and recording access.

Each attempt is a PREMIS ``recovery`` event (success or failure, with the target and the
reason); when no target was named, a copy that fails verification is passed over for the
next candidate and the restore goes on from there, leaving nothing behind from the failed try.

A restore is three steps driven by the edge (``preserve restore``, the drill): the record is
read from the catalogue (:func:`~preserve.access.sources.load_record`), the bytes are copied
with no transaction open (:func:`execute_restore`), then the attempts are recorded
(:func:`record_restore`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session

from preserve.access.restore import RestoreResult, restore_aip
from preserve.access.sources import AipRecord, Attempts, requested_or_candidates
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.errors import IntegrityError, NoHealthySource, PreserveError
from preserve.storage.base import StorageError
from preserve.storage.stores import Stores
from preserve.trust.keyring import TrustedKeys

RESTORE_WORKERS = 4
"""Files fetched at once; ``progress`` is thread-safe in the CLI (rich) and the drill."""


@dataclass
class RestoreProgress:
    """Callbacks for a progress display: a new attempt (target, bytes), then bytes done."""

    start: Callable[[str, int], None]
    advance: Callable[[int], None]


@dataclass(frozen=True)
class Attempt:
    target: str
    outcome: Outcome
    detail: str


@dataclass
class RestoreRun:
    """One restore: each target tried (to record as ``recovery`` events) and how it ended."""

    record: AipRecord
    attempts: list[Attempt] = field(default_factory=list)
    result: RestoreResult | None = None
    error: PreserveError | None = None

    def outcome(self) -> RestoreResult:
        """The result, or the error that ended the restore."""
        if self.result is None:
            raise self.error or NoHealthySource(f"AIP {self.record.aip_id} was not restored")
        return self.result


def execute_restore(
    run: RestoreRun,
    stores: Stores,
    trusted: TrustedKeys,
    destination: Path,
    *,
    requested: str | None = None,
    pattern: str | None = None,
    progress: RestoreProgress | None = None,
) -> None:
    """Restore from ``requested``, or from each healthy candidate in turn until one verifies.

    Reads the stores only (no session): ``run`` keeps every attempt, so the caller records
    them (:func:`record_restore`) even when this raises."""
    record = run.record
    total = sum(
        f.size for p, f in record.files.items() if pattern is None or fnmatch.fnmatch(p, pattern)
    )
    attempts = Attempts()
    for target in requested_or_candidates(stores, record, requested):
        if progress is not None:
            progress.start(target, total)
        try:
            result = restore_aip(
                stores.store(record.profile, target),
                record.aip_id,
                destination,
                trusted,
                catalogue={p: f.sha256 for p, f in record.files.items()},
                tagmanifest_sha256=record.tagmanifest_sha256,
                pattern=pattern,
                progress=progress.advance if progress is not None else None,
                workers=RESTORE_WORKERS,
            )
        except (StorageError, IntegrityError) as exc:
            run.attempts.append(Attempt(target, Outcome.FAILURE, str(exc)))
            if requested is not None:
                run.error = exc
                return
            attempts.add(target, exc)
            continue
        detail = f"{result.files} files, {result.bytes} bytes restored to {destination}"
        run.attempts.append(Attempt(target, Outcome.SUCCESS, detail))
        run.result = result
        return
    run.error = attempts.error(record.aip_id)


def record_restore(session: Session, run: RestoreRun, agent: str) -> None:
    """Each attempt of ``run`` as a ``recovery`` event."""
    for attempt in run.attempts:
        record_recovery(session, run.record, attempt.target, attempt.outcome, attempt.detail, agent)


def record_aip_event(
    session: Session,
    record: AipRecord,
    target: str,
    outcome: Outcome,
    detail: str,
    agent: str,
    *,
    kind: EventType,
) -> None:
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


record_recovery = partial(record_aip_event, kind=EventType.RECOVERY)
record_access = partial(record_aip_event, kind=EventType.ACCESS)
