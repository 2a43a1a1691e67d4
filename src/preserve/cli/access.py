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

from preserve.access.service import RestoreProgress
from preserve.access.service import restore as restore_from_stores
from preserve.cli.common import console, err_console, open_runtime


def restore(
    aip_id: str = typer.Argument(..., help="The AIP to restore."),
    to: Path = typer.Option(..., "--to", help="Directory to create (must not exist or be empty)."),
    source: str | None = typer.Option(
        None, "--from", help="Target to restore from (default: the nearest healthy copy)."
    ),
    files: str | None = typer.Option(None, help="Only paths matching this glob."),
) -> None:
    """Restore an AIP's payload under its original paths; digests and signature verified first.

    Without --from, targets are tried in the profile's order (verified replicas only, those
    whose last audit failed last); a copy that fails verification is passed over for the next.
    """
    with open_runtime() as rt, restore_progress() as progress:
        result = restore_from_stores(
            rt, aip_id, to, requested=source, pattern=files, progress=progress
        )
    console.print(
        f"restored {result.files} files ({result.bytes} bytes) of {aip_id} "
        f"from {result.target} to {to}",
        highlight=False,
    )


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
