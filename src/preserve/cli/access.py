"""``preserve restore``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from preserve.access.restore import RestoreResult
from preserve.access.service import RestoreProgress, RestoreRun, execute_restore, record_restore
from preserve.access.sources import load_record
from preserve.cli.common import err_console, open_runtime
from preserve.cli.names import check_targets
from preserve.cli.output import Format, Result, emit, format_option, output_option
from preserve.runtime import Runtime


def restore(
    aip_id: str = typer.Argument(..., help="The AIP to restore."),
    to: Path = typer.Option(..., "--to", help="Directory to create (must not exist or be empty)."),
    source: str | None = typer.Option(
        None, "--from", help="Target to restore from (default: the nearest healthy copy)."
    ),
    files: str | None = typer.Option(None, help="Only paths matching this glob."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Restore an AIP's payload under its original paths; digests and signature verified first.

    Without --from, targets are tried in the profile's order (verified replicas only, those
    whose last audit failed last); a copy that fails verification is passed over for the next.
    """
    with open_runtime() as rt:
        with rt.sessions.begin() as session:
            check_targets(rt, session, [source])
        with restore_progress() as progress:
            result = run_restore(rt, aip_id, to, requested=source, pattern=files, progress=progress)
    summary = {
        "aip_id": aip_id,
        "target": result.target,
        "files": result.files,
        "bytes": result.bytes,
        "destination": str(to),
    }
    line = (
        f"restored {result.files} files ({result.bytes} bytes) of {aip_id} "
        f"from {result.target} to {to}"
    )
    result = Result("restore", list(summary), [summary], data=summary, lines=[line])
    result.show_table = False
    emit(result, fmt, output)


def run_restore(
    rt: Runtime,
    aip_id: str,
    destination: Path,
    *,
    requested: str | None = None,
    pattern: str | None = None,
    progress: RestoreProgress | None = None,
    agent: str = "cli",
) -> RestoreResult:
    """Read the record, restore with no transaction open, then record every attempt (also
    when the restore failed) as a ``recovery`` event."""
    with rt.sessions.begin() as session:
        run = RestoreRun(load_record(session, aip_id))
    try:
        execute_restore(
            run,
            rt.stores,
            rt.trusted_keys(),
            destination,
            requested=requested,
            pattern=pattern,
            progress=progress,
        )
    finally:
        with rt.sessions.begin() as session:
            record_restore(session, run, agent)
    return run.outcome()


@contextmanager
def restore_progress() -> Iterator[RestoreProgress]:
    """One bar per attempt; a failed attempt's bar stays visible above the next one."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
    ) as bars:
        current: list = []

        def start(target: str, total: int) -> None:
            current[:] = [bars.add_task(f"restoring from {target}", total=total or None)]

        def advance(n: int) -> None:
            bars.advance(current[0], n)

        yield RestoreProgress(start, advance)
