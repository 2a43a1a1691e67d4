"""Durable writes: what must survive a power cut once a function returns.

A file's bytes are durable after ``fsync`` of the file; its *name* is durable only after
``fsync`` of the directory that holds it. Every write in preserve that promises durability
(staged uploads before a 202, the AIP's tag files, filesystem store objects, keys and the
keyring) goes through these few functions, so that no caller forgets the directory.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` (new, renamed or removed names) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


FSYNC_THREADS = 8
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _fsync_pool() -> ThreadPoolExecutor:
    """One pool for the process: starting threads per call costs more than the fsyncs on a
    busy machine (a new thread waits for the CPU before it can take its first fsync)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(FSYNC_THREADS, thread_name_prefix="fsync")
        return _pool


def fsync_files(paths: Iterable[Path]) -> None:
    """fsync many files (or folders) at once with a few threads: the disk queue, and the file
    system's journal, take them together. A file's name becomes durable with :func:`fsync_tree`
    or :func:`fsync_dir` of its directory, or with the directory among ``paths``."""
    paths = list(paths)
    if not paths:
        return
    if len(paths) == 1:
        fsync_path(paths[0])
    else:
        list(_fsync_pool().map(fsync_path, paths))


def fsync_tree(root: Path) -> None:
    """fsync every directory under ``root`` (``root`` included) so new entries are durable."""
    for folder, _dirs, _files in os.walk(root):
        fsync_dir(Path(folder))


def write_file(path: Path, data: bytes, *, mode: int = 0o644, exclusive: bool = False) -> bool:
    """Write ``data`` at ``path`` whole or not at all, durably, created with ``mode``.

    The bytes go to a temporary file in the same directory, are fsynced, then published by
    rename (replacing what was there) or, with ``exclusive``, by a hard link that fails when
    the name exists: then nothing is written and False is returned. The directory is fsynced
    after publishing. A reader never sees a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
            tmp = ""
    finally:
        if tmp:
            os.unlink(tmp)
    fsync_dir(path.parent)
    return True


def write_files(files: dict[Path, bytes], *, mode: int = 0o644) -> None:
    """:func:`write_file` for many files at once, with the same promise for each (whole or
    not at all, durable on return) for fewer waits: every temporary file is written first,
    all are fsynced together (:func:`fsync_files`), then each is renamed into place and each
    directory fsynced once, instead of two fsyncs in turn per file."""
    temporary: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temporary[path] = Path(tmp)
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        fsync_files(temporary.values())
        for path in list(temporary):
            os.replace(temporary.pop(path), path)
    finally:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)
    for folder in {path.parent for path in files}:
        fsync_dir(folder)
