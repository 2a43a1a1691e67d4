"""Jobs the trust package owns, and the event log's drivers the CLI and the API share."""

from __future__ import annotations

from typing import Any

from preserve.catalog.chain import CHECKPOINT_JOB_KIND as JOB_KIND
from preserve.jobs.registry import task
from preserve.runtime import Runtime
from preserve.trust import log as event_log
from preserve.trust.log import CheckpointRun
from preserve.trust.logverify import LogReport


@task(JOB_KIND)
def checkpoint(rt: Runtime, payload: dict[str, Any]) -> None:
    run_checkpoint(rt)


def run_checkpoint(rt: Runtime) -> CheckpointRun:
    """Sign a checkpoint of the new entries (if any) and write every unwritten one everywhere.

    A store that fails keeps its checkpoints pending; they are written on the next run, and
    the run raises :class:`StorageError` so the job is retried."""
    with rt.sessions.begin() as session:
        run = event_log.plan_checkpoints(session, rt.stores, rt.signing_key)
    event_log.write_checkpoints(run)
    with rt.sessions.begin() as session:
        event_log.record_checkpoints(session, run)
    run.raise_for_failures()
    return run


def verify_log(rt: Runtime, *, agent: str, agency_id: int | None = None) -> LogReport:
    """Verify the event log against every store's checkpoints; the verification is logged."""
    with rt.sessions.begin() as session:
        stores = event_log.log_stores(session, rt.stores)
    feed = event_log.read_checkpoints(stores, rt.trusted_keys())
    with rt.sessions.begin() as session:
        return event_log.verify_and_record(session, feed, agent=agent, agency_id=agency_id)
