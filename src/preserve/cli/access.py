"""``preserve restore``."""

from __future__ import annotations

from pathlib import Path

import typer

from preserve.access.restore import restore_aip
from preserve.catalog.db import session_scope
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import ReplicaState
from preserve.catalog.repository import get_aip
from preserve.cli.common import console, fail, open_runtime
from preserve.cli.progress import byte_progress
from preserve.errors import PreserveError


def restore(
    aip_id: str = typer.Argument(..., help="The AIP to restore."),
    to: Path = typer.Option(..., "--to", help="Directory to create (must not exist or be empty)."),
    source: str | None = typer.Option(None, "--from", help="Target to restore from."),
    files: str | None = typer.Option(None, help="Only paths matching this glob."),
) -> None:
    """Restore an AIP's payload under its original paths; digests and signature verified first."""
    with open_runtime() as rt:
        with session_scope(rt.sessions) as session:
            aip = get_aip(session, aip_id)
            targets = [r.target for r in aip.replicas if r.state == ReplicaState.VERIFIED]
            catalogue = {f.path: f.sha256 for f in aip.files}
            profile, agency_id, tm = aip.storage_profile, aip.agency_id, aip.tagmanifest_sha256
        if source is None:
            if not targets:
                fail(f"AIP {aip_id} has no verified replica to restore from")
            source = targets[0]
        store = rt.store(profile, source)
        total = aip.total_bytes if not files else 0
        try:
            with byte_progress(f"restoring from {source}", total) as advance:
                result = restore_aip(
                    store,
                    aip_id,
                    to,
                    rt.trusted_keys(),
                    catalogue=None if files else catalogue,
                    tagmanifest_sha256=tm,
                    pattern=files,
                    progress=advance,
                )
        except PreserveError as exc:
            _record(rt, aip_id, agency_id, source, Outcome.FAILURE, str(exc))
            raise
        _record(rt, aip_id, agency_id, source, Outcome.SUCCESS, f"{result.files} files to {to}")
    console.print(
        f"restored {result.files} files ({result.bytes} bytes) of {aip_id} from {source} to {to}",
        highlight=False,
    )


def _record(rt, aip_id: str, agency_id: int, target: str, outcome: Outcome, detail: str) -> None:
    with session_scope(rt.sessions) as session:
        record_event(
            session,
            EventType.RECOVERY,
            outcome,
            object_type="aip",
            object_id=aip_id,
            agency_id=agency_id,
            target=target,
            detail=detail,
            agent="cli",
        )
