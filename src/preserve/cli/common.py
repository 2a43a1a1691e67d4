"""What every CLI command shares: settings, the runtime, and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from preserve.catalog.db import ensure_database
from preserve.runtime import Runtime
from preserve.settings import Settings

console = Console()
err_console = Console(stderr=True)


@contextmanager
def open_runtime() -> Iterator[Runtime]:
    settings = Settings()
    ensure_database(settings)
    rt = Runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
