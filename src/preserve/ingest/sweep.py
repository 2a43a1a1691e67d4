"""Staging left by requests that were never acknowledged (issue 11, item 6).

A request is acknowledged (202) only once its SIP row is committed, so a staging directory
``<staging>/<uuid>`` with no SIP row is what a process killed while receiving left behind (up
to the whole body). :func:`unacknowledged` finds those whose newest file is older than an age
(a receive still in progress keeps writing, so it is never taken); :func:`remove` deletes them.
Nothing else in staging is touched: tus uploads (``uploads/``) have their own expiry.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from preserve.catalog.models import Sip


@dataclass(frozen=True)
class StagingDebris:
    sip_id: str
    size: int
    age_seconds: float


def unacknowledged(session: Session, staging: Path, older_than: timedelta) -> list[StagingDebris]:
    if not staging.is_dir():
        return []
    now = time.time()
    found = []
    for entry in sorted(staging.iterdir()):
        if not entry.is_dir() or not _is_uuid(entry.name):
            continue
        newest, size = _newest_and_size(entry)
        age = now - newest
        if age < older_than.total_seconds() or session.get(Sip, entry.name) is not None:
            continue
        found.append(StagingDebris(entry.name, size, age))
    return found


def remove(staging: Path, debris: list[StagingDebris]) -> int:
    """Delete the directories found; the bytes freed."""
    for item in debris:
        shutil.rmtree(staging / item.sip_id, ignore_errors=True)
    return sum(item.size for item in debris)


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _newest_and_size(root: Path) -> tuple[float, int]:
    newest = root.stat().st_mtime
    size = 0
    for dirpath, _dirs, files in os.walk(root):
        newest = max(newest, os.stat(dirpath).st_mtime)
        for name in files:
            try:
                info = os.stat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            newest = max(newest, info.st_mtime)
            size += info.st_size
    return newest, size
