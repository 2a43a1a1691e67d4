"""The event log's operations: write signed checkpoints everywhere, verify against every store.

Each is a few steps the edge drives (the ``trust.checkpoint`` job, ``preserve verify``, the
auditor's API), so that no transaction is open while a store is read or written (on SQLite a
transaction holds the write lock):

- checkpoint: :func:`plan_checkpoints` (sign the new entries, list what is unwritten),
  :func:`write_checkpoints` (stores only), :func:`record_checkpoints` (which store holds which);
- verify: :func:`log_stores`, :func:`read_checkpoints` (stores only), then
  :func:`verify_and_record`, which replays the chain and logs the verification itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import LogCheckpoint
from preserve.errors import PreserveError
from preserve.storage.base import StorageError, Store
from preserve.storage.stores import Stores
from preserve.trust import checkpoints
from preserve.trust.checkpoints import Checkpoint
from preserve.trust.keyring import TrustedKeys
from preserve.trust.keys import SigningKey
from preserve.trust.logverify import CheckpointFeed, LogReport, replay
from preserve.trust.repository import checkpoints_in_order, profiles_in_use

log = logging.getLogger(__name__)


def log_stores(session: Session, stores: Stores) -> list[Store]:
    """Every target of every profile in use, once each, seen as ``profile/target``."""
    found: list[Store] = []
    for ref in profiles_in_use(session, stores.default_profile):
        try:
            profile = stores.profile(ref)
        except PreserveError as exc:
            log.warning("profile %s cannot be loaded for the event log: %s", ref, exc)
            continue
        for target in profile.targets:
            found.append(_Named(f"{profile.name}/{target.name}", stores.store(ref, target.name)))
    return found


@dataclass(frozen=True)
class PendingCheckpoint:
    row_id: int
    seq_to: int
    document: str
    stored_on: frozenset[str]


@dataclass
class CheckpointRun:
    made: list[int] = field(default_factory=list)
    written: dict[str, list[int]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    pending: list[PendingCheckpoint] = field(default_factory=list, repr=False)
    stores: list[Store] = field(default_factory=list, repr=False)
    stored: dict[int, set[str]] = field(default_factory=dict, repr=False)

    def raise_for_failures(self) -> None:
        """:class:`StorageError` (the job is retried) when a store did not take its checkpoints."""
        if self.failures:
            raise StorageError(
                "checkpoints not written to: "
                + "; ".join(f"{n} ({e})" for n, e in sorted(self.failures.items()))
            )


def plan_checkpoints(session: Session, stores: Stores, key: SigningKey) -> CheckpointRun:
    """Sign a checkpoint of the new entries (if any); list every one some store still lacks."""
    run = CheckpointRun()
    made = checkpoints.build(session, key)
    if made is not None:
        run.made.append(made.seq_to)
    run.stores = log_stores(session, stores)
    names = {s.name for s in run.stores}
    for row in checkpoints_in_order(session):
        if not names <= set(row.stored_on):
            run.pending.append(
                PendingCheckpoint(row.id, row.seq_to, row.document, frozenset(row.stored_on))
            )
    return run


def write_checkpoints(run: CheckpointRun) -> None:
    """Write every pending checkpoint to every store that lacks it (stores only, no session).

    A store that fails is not tried again in this run; its checkpoints stay pending."""
    for pending in run.pending:
        checkpoint = Checkpoint.from_bytes(pending.document.encode("utf-8"))
        for store in run.stores:
            if store.name in pending.stored_on or store.name in run.failures:
                continue
            try:
                checkpoints.write_to(store, checkpoint)
            except (StorageError, PreserveError) as exc:
                run.failures[store.name] = str(exc)
                continue
            run.written.setdefault(store.name, []).append(pending.seq_to)
            run.stored.setdefault(pending.row_id, set()).add(store.name)


def record_checkpoints(session: Session, run: CheckpointRun) -> None:
    """Note on each checkpoint row the stores that now hold it."""
    for row_id, names in run.stored.items():
        row = session.get(LogCheckpoint, row_id)
        if row is not None:
            row.stored_on = sorted({*row.stored_on, *names})


def read_checkpoints(stores: list[Store], trusted: TrustedKeys) -> CheckpointFeed:
    """The signed checkpoints in every store (stores only, no session)."""
    return CheckpointFeed(stores, trusted, LogReport(stores=[s.name for s in stores]))


def verify_and_record(
    session: Session, feed: CheckpointFeed, *, agent: str, agency_id: int | None = None
) -> LogReport:
    """Replay the chain against ``feed`` and log the verification (its outcome and summary)."""
    report = replay(session, feed)
    record_event(
        session,
        EventType.LOG_VERIFICATION,
        Outcome.SUCCESS if report.ok else Outcome.FAILURE,
        object_type="log",
        object_id=str(report.head_seq),
        agency_id=agency_id,
        agent=agent,
        detail=summary(report),
    )
    return report


def summary(report: LogReport) -> str:
    if report.ok:
        return (
            f"{report.entries} entries intact; {report.checkpoints_verified} checkpoints verified "
            f"up to #{report.checkpointed_to}"
        )
    first = report.first
    return f"first bad entry #{first.seq}: {first.kind.value} ({first.detail})"


class _Named:
    """A store seen under its ``profile/target`` name (two profiles may share a target name)."""

    def __init__(self, name: str, store: Store) -> None:
        self.name = name
        self._store = store

    def __getattr__(self, attr: str):
        return getattr(self._store, attr)
