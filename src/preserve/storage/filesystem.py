"""A store in a local or mounted directory.

Objects are written to a temporary name in the destination directory, fsynced, then renamed
into place, so a crash leaves either the whole object or nothing under its key. Keys are
checked to stay inside the root.

When the source is a regular file (a staged bag on this machine, reads not paced), its bytes go
to the temporary file with the kernel's copy (``os.sendfile``): no pass through Python's
buffers. Not ``copy_file_range``: on XFS and Btrfs it may reflink, and two targets on one
filesystem would then share their blocks, one copy in fact. The copy is proven as every other,
by one hashing read of the target (storage/copy.py). Should the kernel's copy fail, the file is
truncated and written again through Python's buffers, so a failing source is reported as the
source's failure. The fsync before the rename is unchanged.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
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
        info = self.put_unsynced(key, source, overwrite=overwrite)
        try:
            fsync_dir(self._path(key).parent)
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot write {key}: {exc.strerror}") from exc
        return info

    def put_unsynced(self, key: str, source: BinaryIO, *, overwrite: bool = False) -> ObjectInfo:
        """:meth:`put` whose bytes are durable (fsynced) but whose *name* is not yet: the caller
        makes it durable with :meth:`sync_names` before it relies on the object (one directory
        fsync for many objects: a bag of 10,000 small files has ~20 directories)."""
        path = self._path(key)
        if not overwrite and path.exists():
            raise ObjectExists(f"{self.name}: {key} already exists")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    _copy_into(source, out)
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
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot write {key}: {exc.strerror}") from exc
        return ObjectInfo(key, size)

    def sync_names(self, keys: Iterable[str]) -> None:
        """Make the names of objects written by :meth:`put_unsynced` durable: one fsync of each
        directory that holds them, and of each directory created for them up to the root."""
        dirs: set[Path] = set()
        for key in keys:
            parent = self._path(key).parent
            while parent not in dirs and parent != self.root.parent:
                dirs.add(parent)
                if parent == self.root:
                    break
                parent = parent.parent
        try:
            for directory in sorted(dirs, key=lambda d: len(d.parts), reverse=True):
                fsync_dir(directory)
        except OSError as exc:
            raise StorageError(f"{self.name}: cannot sync directories: {exc.strerror}") from exc

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

    def destroy(self, prefix: str, *, bypass_governance: bool = False) -> int:
        """Delete every file under ``prefix`` (temporary files of killed writes too), then the
        directories left empty, up to the root."""
        count = 0
        for path in self._files_under(prefix):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(
                    f"{self.name}: cannot delete {path.name}: {exc.strerror}"
                ) from exc
            count += 1
        self._prune(prefix)
        return count

    def remnants(self, prefix: str) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self._files_under(prefix))

    def _files_under(self, prefix: str) -> list[Path]:
        head = prefix.rstrip("/")
        if not head:
            raise StorageError(f"{self.name}: refusing to destroy the whole store")
        start = self._path(head)
        if not self.root.is_dir():
            raise StorageError(f"{self.name}: the store's root {self.root} is not there")
        if start.is_file():
            return [start]
        return sorted(p for p in start.rglob("*") if p.is_file() or p.is_symlink())

    def _prune(self, prefix: str) -> None:
        start = self._path(prefix.rstrip("/"))
        if start.is_dir():
            for directory in sorted(start.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                if directory.is_dir():
                    _rmdir_empty(directory)
        node = start
        while node != self.root and self.root in node.parents:
            if node.is_dir() and not _rmdir_empty(node):
                break
            node = node.parent
        fsync_dir(node if node.is_dir() else self.root)


def _rmdir_empty(directory: Path) -> bool:
    try:
        directory.rmdir()
    except OSError:
        return False
    return True


def _source_fd(source: BinaryIO) -> int | None:
    """The descriptor of a regular file behind ``source``, or None."""
    try:
        fd = source.fileno()
        return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except (OSError, ValueError, AttributeError):
        return None


def _copy_into(source: BinaryIO, out: BinaryIO) -> None:
    """``source`` from where it stands to its end into ``out`` (empty, just opened)."""
    fd = _source_fd(source)
    if fd is not None:
        start = source.tell()
        try:
            _kernel_copy(fd, out.fileno(), start)
            return
        except OSError:  # not supported here, or a read/write error: go the buffered way
            out.seek(0)
            out.truncate()
            source.seek(start)
    shutil.copyfileobj(source, out, CHUNK_SIZE)


def _kernel_copy(src: int, dst: int, start: int) -> None:
    offset = start
    while True:
        n = os.sendfile(dst, src, offset, CHUNK_SIZE * 8)
        if n == 0:
            return
        offset += n


def _link_exclusive(tmp: str, path: Path, name: str, key: str) -> None:
    """Publish ``tmp`` at ``path`` only if nothing is there (write once, race-free)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ObjectExists(f"{name}: {key} already exists") from None
