"""Debris a killed writer leaves in a store (issue 11, item 6).

A filesystem store writes each object to a ``.preserve-tmp-*`` file beside it and renames it
into place; a worker killed in between leaves the temporary file behind (up to hundreds of MB),
and no listing shows it. :func:`temporary_objects` finds those older than an age (a writer
still at work keeps touching its file, so a young one is never taken), :func:`remove` deletes
them. Unfinished S3 multipart uploads, the same debris on S3, are
:func:`preserve.storage.reconcile.clear_stale_uploads`'s.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from preserve.storage.base import LocalDirectory, Store
from preserve.storage.filesystem import TMP_PREFIX


@dataclass(frozen=True)
class Debris:
    path: str  # relative to the store's root
    size: int
    age_seconds: float


def temporary_objects(store: Store, older_than: timedelta) -> list[Debris]:
    """The store's temporary objects older than ``older_than`` (local directories only)."""
    if not isinstance(store, LocalDirectory):
        return []
    root = Path(store.root)
    if not root.is_dir():
        return []
    now = time.time()
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not name.startswith(TMP_PREFIX):
                continue
            path = Path(dirpath) / name
            try:
                info = path.stat()
            except FileNotFoundError:  # its writer finished meanwhile
                continue
            age = now - info.st_mtime
            if age >= older_than.total_seconds():
                found.append(Debris(path.relative_to(root).as_posix(), info.st_size, age))
    return sorted(found, key=lambda d: d.path)


def remove(store: Store, debris: list[Debris]) -> int:
    """Delete the temporary objects found; the bytes freed."""
    if not isinstance(store, LocalDirectory):
        return 0
    freed = 0
    for item in debris:
        path = Path(store.root) / item.path
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        freed += item.size
        _prune(Path(store.root), path.parent)
    return freed


def _prune(root: Path, directory: Path) -> None:
    """Remove the directories the debris alone made (empty ones, up to the root)."""
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty (an AIP lives there) or gone
            return
        directory = directory.parent
