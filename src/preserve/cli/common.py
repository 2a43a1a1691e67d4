"""What every CLI command shares: settings, the runtime, and one-line errors."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from preserve.catalog.db import archive_exists, ensure_database
from preserve.runtime import Runtime
from preserve.settings import Settings

console = Console()
err_console = Console(stderr=True)


@contextmanager
def open_runtime(*, create: bool = False) -> Iterator[Runtime]:
    """The runtime of the archive the settings name. Only ``serve``, ``worker`` and ``db
    upgrade`` may create an archive (``create``); any other command refuses, with one line and
    exit 2, to run where there is none, rather than make an empty one with a new key."""
    settings = Settings()
    if create:
        settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
    elif not (settings.resolved_data_dir.is_dir() and archive_exists(settings.sqlalchemy_url)):
        fail(
            f"no archive at {settings.resolved_data_dir} ({_where(settings)}); set "
            "PRESERVE_DATA_DIR (or PRESERVE_DATABASE_URL), or start one with 'preserve serve'",
            code=2,
        )
    ensure_database(settings.sqlalchemy_url)
    rt = Runtime(settings)
    try:
        yield rt
    finally:
        rt.close()


def keep_files_private(settings: Settings) -> None:
    """What the archive's processes create is theirs alone (the SQLite catalogue, keys,
    staging: 0600 files in 0700 directories), and temporary files (multiprocessing's
    included) stay inside the data directory."""
    os.umask(0o077)
    tmp = settings.resolved_data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = str(tmp)


def _where(settings: Settings) -> str:
    url = settings.sqlalchemy_url
    return "no catalogue database" if url.startswith("sqlite") else "no schema in the database"


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
