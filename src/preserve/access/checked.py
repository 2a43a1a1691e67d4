"""The streamed-digest guard: bytes handed on as read, the last chunk only once they proved right.

Used by whole-file answers (:mod:`preserve.access.files`) and by every member of a streamed
archive (:mod:`preserve.access.download`): a damaged copy is always cut short, so a client never
receives it looking complete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from preserve.digests import CHUNK
from preserve.errors import IntegrityError


def iter_checked(
    stream: BinaryIO,
    size: int,
    sha256: str,
    mismatch: Callable[[int, str], str],
) -> Iterator[bytes]:
    """``stream``'s bytes (closed at the end); the last chunk is held back until ``size`` and
    ``sha256`` match, else :class:`IntegrityError` with ``mismatch(bytes_read, sha256_read)``.
    Reading stops as soon as more than ``size`` bytes came."""
    hasher = hashlib.sha256()
    read = 0
    held = b""
    with stream:
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
            read += len(chunk)
            if read > size:
                break
            if held:
                yield held
            held = chunk
    if read != size or hasher.hexdigest() != sha256:
        raise IntegrityError(mismatch(read, hasher.hexdigest()))
    if held:
        yield held
