"""Free space, watched before it runs out (issue 11, item 7).

Per filesystem target and for the data directory (the catalogue on SQLite, staging, keys):
free and total bytes of the filesystem that holds it, and whether that is below the warning
threshold (``free_space_warn_bytes``). A root that does not exist yet is measured at its
nearest existing parent, the filesystem it will be created on. Object stores report no free
space: they are left out. ``storage check``, ``storage status``, ``/metrics``, ``/health`` and the
scheduler's ``low-free-space`` alert all read this one function.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from preserve.storage.profiles import FilesystemTarget, StorageProfile

DATA_DIR = "(data directory)"
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class Space:
    name: str  # a target's name, or DATA_DIR
    path: str
    free: int
    total: int
    low: bool

    @property
    def warning(self) -> str:
        return (
            f"{self.name}: {_human(self.free)} free of {_human(self.total)} at {self.path}, "
            f"below the warning threshold"
        )

    def to_dict(self) -> dict:
        return {**asdict(self), "warning": self.warning if self.low else None}


def measure(name: str, path: Path, warn_below: int) -> Space | None:
    """The free space of the filesystem ``path`` is (or will be) on; None if unmeasurable."""
    probe = path.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError:
        return None
    return Space(name, str(path), usage.free, usage.total, usage.free < warn_below)


def space_report(
    profiles: Iterable[StorageProfile], data_dir: Path, warn_below: int
) -> list[Space]:
    """The data directory, then every filesystem target of the profiles (each name once)."""
    found = [measure(DATA_DIR, data_dir, warn_below)]
    seen: set[str] = set()
    for profile in profiles:
        for target in profile.targets:
            if isinstance(target, FilesystemTarget) and target.name not in seen:
                seen.add(target.name)
                found.append(measure(target.name, Path(target.root), warn_below))
    return [s for s in found if s is not None]


def disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception it came from is a full disk (ENOSPC, EDQUOT)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            return True
        if "database or disk is full" in str(exc):  # SQLite says so in its own words
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{n} B"
        size /= 1024
    return f"{n} B"
