"""A filesystem target written with the kernel's copy from a regular-file source, the buffered
way otherwise, and the buffered way again (from the start) when the kernel's copy fails."""

from __future__ import annotations

import io
import os
from pathlib import Path

from preserve.storage import filesystem
from preserve.storage.filesystem import FilesystemStore


def _source(tmp_path: Path, size: int = 3 * 1024 * 1024 + 17) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    return path, data


def test_a_regular_file_goes_through_the_kernel(tmp_path, monkeypatch):
    path, data = _source(tmp_path)
    used = []
    real = filesystem._kernel_copy
    monkeypatch.setattr(filesystem, "_kernel_copy", lambda *a: used.append(a) or real(*a))
    store = FilesystemStore("t", tmp_path / "store")
    with open(path, "rb") as source:
        info = store.put("a/b", source)
    assert used and info.size == len(data)
    assert (tmp_path / "store" / "a" / "b").read_bytes() == data
    assert not [p for p in (tmp_path / "store" / "a").iterdir() if p.name != "b"]  # no temp left


def test_the_copy_starts_where_the_source_stands(tmp_path):
    path, data = _source(tmp_path, 4096)
    store = FilesystemStore("t", tmp_path / "store")
    with open(path, "rb") as source:
        source.seek(1000)
        assert store.put("k", source).size == len(data) - 1000
    assert (tmp_path / "store" / "k").read_bytes() == data[1000:]


def test_streams_without_a_file_are_copied_the_buffered_way(tmp_path):
    store = FilesystemStore("t", tmp_path / "store")
    assert store.put("k", io.BytesIO(b"x" * 10)).size == 10
    read, write = os.pipe()
    os.write(write, b"piped bytes")
    os.close(write)
    with os.fdopen(read, "rb") as pipe:  # a descriptor, but not a regular file
        assert store.put("p", pipe).size == 11
    assert (tmp_path / "store" / "p").read_bytes() == b"piped bytes"


class _KernelRefuses(io.RawIOBase):
    """Reads the file properly, but offers a descriptor the kernel cannot read from."""

    def __init__(self, path: Path) -> None:
        self._reader = open(path, "rb")  # noqa: SIM115 (closed in close())
        self._write_only = os.open(path, os.O_WRONLY)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._reader.readinto(buffer)

    def fileno(self) -> int:
        return self._write_only

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._reader.seek(offset, whence)

    def tell(self) -> int:
        return self._reader.tell()

    def close(self) -> None:
        self._reader.close()
        os.close(self._write_only)
        super().close()


def test_a_failed_kernel_copy_is_done_again_the_buffered_way(tmp_path):
    path, data = _source(tmp_path)
    store = FilesystemStore("t", tmp_path / "store")
    with _KernelRefuses(path) as source:
        assert store.put("k", source).size == len(data)
    assert (tmp_path / "store" / "k").read_bytes() == data
