"""A store in a local or mounted directory.

Objects are written to a temporary name in the destination directory, fsynced, then renamed
into place, so a crash leaves either the whole object or nothing under its key. Keys are
checked to stay inside the root.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from preserve.durable import fsync_dir
from preserve.storage.base import (
    CHUNK_SIZE,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
)

TMP_PREFIX = ".preserve-tmp-"
_TMP_PREFIX = TMP_PREFIX


class FilesystemStore:
    def __init__(self, name: str, root: str | os.PathLike[str]) -> None:
        self.name = name
        self.root = Path(root).absolute()

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise StorageError(f"{self.name}: refusing unsafe key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, source: BinaryIO, *, overwrite: bool = False) -> ObjectInfo:
        path = self._path(key)
        if not overwrite and path.exists():
            raise ObjectExists(f"{self.name}: {key} already exists")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK_SIZE)
                    out.flush()
                    os.fsync(out.fileno())
                    size = out.tell()
                if overwrite:
                    os.replace(tmp, path)
                else:
                    _link_exclusive(tmp, path, self.name, key)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            fsync_dir(path.parent)
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot write {key}: {exc.strerror}") from exc
        return ObjectInfo(key, size)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise ObjectNotFound(f"{self.name}: no object {key}") from None
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot read {key}: {exc.strerror}") from exc

    def stat(self, key: str) -> ObjectInfo:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            raise ObjectNotFound(f"{self.name}: no object {key}") from None
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot stat {key}: {exc.strerror}") from exc
        return ObjectInfo(key, st.st_size)

    def list(self, prefix: str = "") -> Iterator[str]:
        """Walk only the deepest directory the prefix names, not the whole store."""
        start = self.root
        head = prefix.rpartition("/")[0]
        if head:
            parts = head.split("/")
            if any(p in ("", ".", "..") for p in parts):
                return
            start = self.root.joinpath(*parts)
        if not start.is_dir():
            return
        for dirpath, _dirs, files in os.walk(start):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                if name.startswith(_TMP_PREFIX):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    yield key

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot delete {key}: {exc.strerror}") from exc


def _link_exclusive(tmp: str, path: Path, name: str, key: str) -> None:
    """Publish ``tmp`` at ``path`` only if nothing is there (write once, race-free)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ObjectExists(f"{name}: {key} already exists") from None
