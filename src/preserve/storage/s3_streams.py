"""The byte streams of :mod:`preserve.storage.s3`: what a put reads from the caller (counted,
hashed, in full-sized parts) and what a get hands back (an object's body, its errors mapped);
and the client's connection settings."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any, BinaryIO

from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as URLLib3Error

from preserve.storage.base import StorageError

BOTO_ERRORS = (BotoCoreError, ClientError, Boto3Error)

ErrorMap = Callable[[BaseException, str, str], StorageError]
"""``errors(exc, action, key)``: the store's :class:`StorageError` for a boto3 error."""


class SourceReader:
    """The caller's stream, read in full-sized pieces, counting and hashing what it hands out.

    s3transfer takes each ``read(part_size)`` as one part, so a short read from a pipe or
    socket would make an undersized part that S3 refuses; this reader fills every request.
    It is not seekable on purpose: s3transfer then buffers parts instead of re-reading.
    Besides the SHA-256 of everything, it keeps the SHA-256 of each ``part_size`` slice, from
    which :meth:`checksum` gives what S3 reports: the plain digest of a single-part object, or
    the composite (SHA-256 of the part digests) of a multipart one.
    """

    def __init__(self, source: BinaryIO, part_size: int) -> None:
        self._source = source
        self._buffer = b""
        self._part_size = part_size
        self._whole = hashlib.sha256()
        self._part = hashlib.sha256()
        self._part_fill = 0
        self._part_digests: list[bytes] = []
        self.count = 0

    @property
    def parts(self) -> int:
        return len(self._part_digests) + (1 if self._part_fill else 0)

    def sha256(self) -> str:
        return self._whole.hexdigest()

    def checksum(self) -> bytes:
        digests = [*self._part_digests]
        if self._part_fill or not digests:
            digests.append(self._part.digest())
        if self.count < self._part_size:
            return self._whole.digest()
        return hashlib.sha256(b"".join(digests)).digest()

    def _hash(self, data: bytes) -> None:
        self._whole.update(data)
        view = memoryview(data)
        while view:
            take = min(len(view), self._part_size - self._part_fill)
            self._part.update(view[:take])
            self._part_fill += take
            view = view[take:]
            if self._part_fill == self._part_size:
                self._part_digests.append(self._part.digest())
                self._part = hashlib.sha256()
                self._part_fill = 0

    def peek(self, size: int) -> bytes:
        self._buffer += self._fill(size - len(self._buffer))
        return self._buffer

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = self._buffer + self._source.read()
        else:
            data = self._buffer[:size]
            data += self._fill(size - len(data))
        self._buffer = self._buffer[len(data) :] if len(data) < len(self._buffer) else b""
        self.count += len(data)
        self._hash(data)
        return data

    def _fill(self, size: int) -> bytes:
        pieces = []
        while size > 0:
            piece = self._source.read(size)
            if not piece:
                break
            pieces.append(piece)
            size -= len(piece)
        return b"".join(pieces)

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True


class Body(io.RawIOBase):
    """An object's body whose read errors become StorageError (they arrive mid-stream)."""

    def __init__(self, body: Any, errors: ErrorMap, key: str) -> None:
        self._body = body
        self._errors = errors
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except (*BOTO_ERRORS, URLLib3Error, OSError) as exc:
            raise self._errors(exc, "read", self._key) from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def client_config(
    max_concurrency: int,
    *,
    path_style: bool = False,
    attempts: int = 5,
    connect_timeout: float = 10,
) -> Config:
    # A copy runs up to max_concurrency small files at once, or one file in that many parts.
    return Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        connect_timeout=connect_timeout,
        read_timeout=120,
        max_pool_connections=max(10, 2 * max_concurrency),
        s3={"addressing_style": "path"} if path_style else None,
    )
