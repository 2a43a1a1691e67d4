"""Rich progress bars for long operations (bytes read or written)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from preserve.cli.common import err_console


@contextmanager
def byte_progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total or None)
        yield lambda n: progress.advance(task, n)
