"""Reading S3 objects: a large one as parallel ranged GETs, its parts handed on in order.

One GET runs over one connection, which S3 serves at a bounded rate, and a reader that hashes
in the thread reading the socket stops reading while it hashes. An object of at least
``threshold`` bytes is therefore read in parts of ``part_size``: its first part from the body
of the plain GET that told its size (an object under the threshold is that one GET, as
before), the rest by ranged GETs, ``inflight`` at a time, each pinned to the version (or the
ETag) the first answer named, so parts of two versions are never mixed. The parts come back
in order to the one consumer, which hashes them while the next are on the wire: memory stays
at ``inflight + 1`` parts whatever the object's size. An object under the threshold but over
one part is read from its one GET's body a part ahead of the consumer, in a thread.
:meth:`ObjectReader.fetch` also writes each part into a file at its offset (``os.pwrite``) in
the thread that fetched it, so writing runs beside hashing too; a caller believes the file
only once its digests proved right.
"""

from __future__ import annotations

import io
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

from botocore.exceptions import ClientError
from urllib3.exceptions import HTTPError as URLLib3Error

from preserve.storage.base import CHUNK_SIZE, StorageError
from preserve.storage.s3_streams import BOTO_ERRORS, Body, ErrorMap

MiB = 1024 * 1024

Consume = Callable[[bytes], None]
OnPart = Callable[[int, bytes], None]


@dataclass(frozen=True)
class RangedReads:
    """Objects of ``threshold`` bytes or more are read in ``part_size`` parts, ``inflight`` at
    a time (the profile's ``ranged_read_threshold_mb``, ``read_part_size_mb``,
    ``read_concurrency``)."""

    threshold: int = 64 * MiB
    part_size: int = 8 * MiB
    inflight: int = 6


@dataclass(frozen=True)
class ObjectReader:
    client: Any
    bucket: str
    errors: ErrorMap
    reads: RangedReads

    def open(self, full: str, key: str) -> BinaryIO:
        """The object's bytes as one stream, read in parallel parts when it is large."""
        response, body = self._get(full, key)
        if response.get("ContentLength", 0) <= self.reads.part_size:  # or not told
            return io.BufferedReader(body, CHUNK_SIZE)  # type: ignore[return-value]
        parts = self._parts(full, key, response, body, None)
        return io.BufferedReader(PartsReader(parts), CHUNK_SIZE)  # type: ignore[return-value]

    def fetch(self, full: str, key: str, fd: int, consume: Consume) -> int:
        """Write the object into the open file ``fd`` at its offsets and hand every byte to
        ``consume`` in order (the caller hashes there); the object's size."""
        response, body = self._get(full, key)

        def write(offset: int, data: bytes) -> None:
            write_at(fd, data, offset)

        size = 0
        for part in self._parts(full, key, response, body, write):
            consume(part)
            size += len(part)
        return size

    def _get(self, full: str, key: str) -> tuple[dict[str, Any], Body]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=full)
        except BOTO_ERRORS as exc:
            raise self.errors(exc, "read", key) from exc
        return response, Body(response["Body"], self.errors, key)

    def _parts(
        self, full: str, key: str, response: dict[str, Any], body: Body, on_part: OnPart | None
    ) -> Iterator[bytes]:
        """Under the threshold, the one GET's body in parts, the next read while the last part
        is consumed; else its first part, then ranged GETs."""
        size = response.get("ContentLength")
        if size is not None and size <= self.reads.part_size:
            with body:
                whole = _read_exactly(body, size)
            if on_part is not None:
                on_part(0, whole)
            return iter([whole] if whole else [])
        if size is None or size < self.reads.threshold:
            return iter_body(body, self.reads.part_size, on_part)
        with body:
            first = _read_exactly(body, self.reads.part_size)
        pin = {"VersionId": response["VersionId"]} if response.get("VersionId") else {}
        pin = pin or {"IfMatch": response["ETag"]}

        def get_range(start: int, end: int) -> bytes:
            return self._get_range(full, key, start, end, pin)

        return iter_parts(first, size, get_range, self.reads, on_part)

    def _get_range(self, full: str, key: str, start: int, end: int, pin: dict[str, str]) -> bytes:
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=full, Range=f"bytes={start}-{end}", **pin
            )
            data = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412:
                raise StorageError(f"{key} changed while it was being read") from exc
            raise self.errors(exc, "read", key) from exc
        except (*BOTO_ERRORS, URLLib3Error, OSError) as exc:
            raise self.errors(exc, "read", key) from exc
        if len(data) != end - start + 1:
            raise StorageError(f"{key}: bytes {start}-{end} came back {len(data)} long")
        return data


def iter_parts(
    first: bytes,
    size: int,
    get_range: Callable[[int, int], bytes],
    reads: RangedReads,
    on_part: OnPart | None = None,
) -> Iterator[bytes]:
    """``first`` (the object's first bytes, read already), then the rest of its ``size``
    bytes, ``reads.inflight`` ranged reads at a time, in order; ``on_part(offset, data)``
    runs as each part arrives, in the thread that fetched it."""

    def fetch(start: int) -> bytes:
        data = get_range(start, min(start + reads.part_size, size) - 1)
        if on_part is not None:
            on_part(start, data)
        return data

    offsets = iter(range(len(first), size, reads.part_size))
    pool = ThreadPoolExecutor(reads.inflight, thread_name_prefix="s3-get")
    try:
        pending = deque(pool.submit(fetch, o) for o in itertools.islice(offsets, reads.inflight))
        if on_part is not None:
            on_part(0, first)
        yield first
        while pending:
            data = pending.popleft().result()
            following = next(offsets, None)
            if following is not None:
                pending.append(pool.submit(fetch, following))
            yield data
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def iter_body(body: Body, part_size: int, on_part: OnPart | None) -> Iterator[bytes]:
    """``body`` in parts of ``part_size``, each read (and given to ``on_part``) in a thread of
    its own while the one before is consumed."""

    def read(offset: int) -> bytes:
        data = _read_exactly(body, part_size)
        if data and on_part is not None:
            on_part(offset, data)
        return data

    pool = ThreadPoolExecutor(1, thread_name_prefix="s3-get")
    try:
        with body:
            pending = pool.submit(read, 0)
            offset = 0
            while data := pending.result():
                offset += len(data)
                pending = pool.submit(read, offset)
                yield data
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class PartsReader(io.RawIOBase):
    """An iterator of byte strings read as one stream."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self._parts = parts
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._view:
            part = next(self._parts, None)
            if part is None:
                return 0
            self._view = memoryview(part)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            close = getattr(self._parts, "close", None)
            if close is not None:
                close()
        super().close()


def write_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _read_exactly(body: Body, size: int) -> bytes | bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    filled = 0
    while filled < size:
        n = body.readinto(view[filled:])
        if not n:
            break
        filled += n
    return buffer if filled == size else bytes(view[:filled])  # bytes-like, not copied again
