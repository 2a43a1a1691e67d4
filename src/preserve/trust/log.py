"""The event log's operations over a runtime: checkpoint now, and verify against every store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from preserve.catalog.models import LogCheckpoint
from preserve.errors import PreserveError
from preserve.runtime import Runtime
from preserve.storage.base import StorageError, Store
from preserve.trust import checkpoints
from preserve.trust.checkpoints import Checkpoint
from preserve.trust.logverify import LogReport, verify_log

log = logging.getLogger(__name__)


@dataclass
class CheckpointRun:
    made: list[int] = field(default_factory=list)
    written: dict[str, list[int]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def log_stores(rt: Runtime) -> list[tuple[str, Store]]:
    """Every target of every profile in use, once each, named ``profile/target``."""
    with rt.sessions.begin() as session:
        refs = checkpoints.profiles_in_use(session, rt.settings.storage_profile)
    found: list[tuple[str, Store]] = []
    for ref in refs:
        try:
            profile = rt.profile(ref)
        except PreserveError as exc:
            log.warning("profile %s cannot be loaded for the event log: %s", ref, exc)
            continue
        for target in profile.targets:
            found.append((f"{profile.name}/{target.name}", rt.store(ref, target.name)))
    return found


def run_checkpoint(rt: Runtime) -> CheckpointRun:
    """Sign a checkpoint of the new entries (if any) and write every unwritten one everywhere.

    A store that fails keeps its checkpoints pending; they are written on the next run, and
    the run raises :class:`StorageError` so the job is retried.
    """
    run = CheckpointRun()
    with rt.sessions.begin() as session:
        made = checkpoints.build(session, rt.signing_key)
        if made is not None:
            run.made.append(made.seq_to)
    stores = log_stores(rt)
    with rt.sessions.begin() as session:
        rows = session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.seq_to)).all()
        pending = [(r.id, r.seq_to, r.document, set(r.stored_on)) for r in rows]
    for row_id, seq_to, document, done in pending:
        for name, store in stores:
            if name in done or name in run.failures:
                continue
            try:
                checkpoints.write_to(store, Checkpoint.from_bytes(document.encode("utf-8")))
            except (StorageError, PreserveError) as exc:
                run.failures[name] = str(exc)
                continue
            run.written.setdefault(name, []).append(seq_to)
            with rt.sessions.begin() as session:
                row = session.get(LogCheckpoint, row_id)
                row.stored_on = sorted({*row.stored_on, name})
    if run.failures:
        raise StorageError(
            "checkpoints not written to: "
            + "; ".join(f"{n} ({e})" for n, e in sorted(run.failures.items()))
        )
    return run


def verify(rt: Runtime) -> LogReport:
    stores = [_Named(name, store) for name, store in log_stores(rt)]
    with rt.sessions.begin() as session:
        return verify_log(session, stores, rt.trusted_keys())


class _Named:
    """A store seen under its ``profile/target`` name (two profiles may share a target name)."""

    def __init__(self, name: str, store: Store) -> None:
        self.name = name
        self._store = store

    def __getattr__(self, attr: str):
        return getattr(self._store, attr)
