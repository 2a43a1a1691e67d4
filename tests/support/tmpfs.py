"""A small tmpfs mounted over a directory, for tests of a full disk (needs root: the test is
skipped with the reason where ``mount`` fails)."""

from __future__ import annotations

import errno
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHUNK = 256 * 1024


@contextmanager
def tmpfs(directory: Path, size: str) -> Iterator[Path]:
    """``directory`` (made if need be) with a tmpfs of ``size`` (``1m``, ``32m``) over it."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"preserve-test-{uuid.uuid4().hex[:6]}"
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", name, str(directory)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def fill(path: Path) -> int:
    """Write ``path`` until its filesystem has no byte left; the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as out:
        block = b"\0" * CHUNK
        while True:
            try:
                out.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return written
                block = block[: len(block) // 2]
                continue
            written += len(block)
