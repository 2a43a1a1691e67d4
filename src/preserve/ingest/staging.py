"""Staging: where received bytes wait, durable, until they are packaged and stored.

Each SIP stages under ``<staging>/<sip-id>/bag/data/<path>``, so the received payload is
already in place for the AIP bag and is never copied again on the way in.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from preserve.digests import MultiHasher
from preserve.durable import fsync_files, fsync_tree
from preserve.errors import FileTooLarge

PARALLEL_WRITE_BYTES = 256 * 1024
"""Chunks this large are written on another thread while they are hashed."""


@dataclass(frozen=True)
class StagedFile:
    path: str
    size: int
    sha256: str
    sha512: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "sha512": self.sha512}


def sip_dir(staging_root: Path, sip_id: str) -> Path:
    return staging_root / sip_id


def bag_dir(staging_root: Path, sip_id: str) -> Path:
    return sip_dir(staging_root, sip_id) / "bag"


def sender_dir(staging_root: Path, sip_id: str) -> Path:
    """The sender's own files kept for the AIP (a bag's tag files, the metadata as sent)."""
    return sip_dir(staging_root, sip_id) / "sender"


def save_sender_files(staging_root: Path, sip_id: str, files: dict[str, bytes]) -> list[Path]:
    """Write the sender's files (not yet fsynced: the caller flushes them with the rest of
    the SIP); the paths written."""
    from preserve.aip.paths import safe_relative_path

    root = sender_dir(staging_root, sip_id)
    written = []
    for name, data in files.items():
        target = root.joinpath(*safe_relative_path(name).split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def folders(root: Path) -> list[Path]:
    """``root`` and every folder under it."""
    return [Path(folder) for folder, _dirs, _files in os.walk(root)]


def discard(staging_root: Path, sip_id: str) -> None:
    shutil.rmtree(sip_dir(staging_root, sip_id), ignore_errors=True)


class StagingWriter:
    """Writes one file, hashing every byte as it passes (sha256 and sha512 at once, and any
    ``extra`` algorithm a sender's manifest uses, in the same pass).

    ``fsync=False`` leaves the flush to the caller (:func:`fsync_files`), so a SIP of many
    small files pays for its fsyncs in parallel rather than one after another.
    """

    def __init__(
        self,
        payload_root: Path,
        relpath: str,
        max_bytes: int,
        extra: tuple[str, ...] = (),
        fsync: bool = True,
    ) -> None:
        self.relpath = relpath
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.digests: dict[str, str] = {}
        target = payload_root.joinpath(*relpath.split("/"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(target, "xb")  # noqa: SIM115 - closed in finish()/abort()
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            from preserve.aip.paths import UnsafePath

            raise UnsafePath(f"path {relpath!r} is given twice or clashes with a folder") from None
        algorithms = ("sha256", "sha512", *(a for a in extra if a not in ("sha256", "sha512")))
        self._hasher = MultiHasher(algorithms)
        self.path = target

    def write(self, data: bytes | memoryview) -> None:
        if self._hasher.size + len(data) > self.max_bytes:
            raise FileTooLarge(f"{self.relpath} is larger than {self.max_bytes} bytes")
        if len(data) < PARALLEL_WRITE_BYTES:
            self._hasher.update(data)
            self._out.write(data)
            return
        writing = MultiHasher.pool().submit(self._out.write, data)
        try:
            self._hasher.update(data)
        finally:
            writing.result()

    def finish(self) -> StagedFile:
        self._out.flush()
        if self.fsync:
            os.fsync(self._out.fileno())
        self._out.close()
        d = self.digests = self._hasher.hexdigests()
        return StagedFile(self.relpath, self._hasher.size, d["sha256"], d["sha512"])

    def abort(self) -> None:
        self._out.close()


__all__ = ["fsync_files", "fsync_tree"]  # used through this module by the receivers
