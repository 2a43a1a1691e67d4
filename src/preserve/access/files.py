"""Serving one payload file: the copy to read, byte ranges (RFC 9110 §14) and digest headers.

A whole-file answer is checked as it passes: the last chunk is held back until the sha256 of
everything before it matches the catalogue, so a damaged copy never reaches a client looking
complete (the connection closes short of ``Content-Length``). A range cannot be checked without
reading the whole file; it is served from a copy the catalogue holds as verified, and the
client can check the assembled file against ``Repr-Digest`` (RFC 9530).
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote

from preserve.access.checked import iter_checked
from preserve.access.sources import AipRecord, Attempts, FileFacts, requested_or_candidates
from preserve.aip.layout import aip_key
from preserve.digests import CHUNK
from preserve.errors import IntegrityError, NotFound, PreserveError, RangeNotSatisfiable
from preserve.storage.base import StorageError
from preserve.storage.stores import Stores

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range to send, or None for the whole file.

    A missing header, another unit, several ranges or a malformed one mean the whole file
    (RFC 9110 §14.2 lets a server ignore what it does not support). A well-formed single range
    that starts past the end raises :class:`RangeNotSatisfiable`.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE.match(spec)
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"range {spec.strip()} is empty for a {size}-byte file")
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = size - 1 if last == "" else int(last)
    if last != "" and end < start:
        return None  # invalid: ignored, the whole file is sent
    if start >= size:
        raise RangeNotSatisfiable(f"range {spec.strip()} starts past the end ({size} bytes)")
    return ByteRange(start, min(end, size - 1))


def etag(facts: FileFacts) -> str:
    """A strong validator: the file's sha256 never changes (AIPs are written once)."""
    return f'"{facts.sha256}"'


def repr_digest(facts: FileFacts) -> str:
    """RFC 9530 ``Repr-Digest``: structured-field byte sequences of the whole file's digests."""

    def sf(hexdigest: str) -> str:
        return ":" + base64.b64encode(bytes.fromhex(hexdigest)).decode("ascii") + ":"

    return f"sha-256={sf(facts.sha256)}, sha-512={sf(facts.sha512)}"


def etag_listed(header: str | None, tag: str) -> bool:
    """Whether an If-None-Match / If-Range list names ``tag`` (weak comparison for the list)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(item.strip().removeprefix("W/") == tag for item in header.split(","))


def content_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def content_disposition(path: str) -> str:
    """``attachment`` so that a stored HTML record never runs as a page of the API's origin."""
    name = path.rsplit("/", 1)[-1]
    fallback = "".join(_ascii(c) for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _ascii(c: str) -> str:
    return c if c.isascii() and c.isprintable() and c not in '"\\' else "_"


def file_facts(record: AipRecord, path: str) -> FileFacts:
    facts = record.files.get(path)
    if facts is None:
        raise NotFound(f"AIP {record.aip_id} has no file {path!r}")
    return facts


def open_payload(
    stores: Stores, record: AipRecord, path: str, requested: str | None
) -> tuple[str, BinaryIO]:
    """The first candidate copy of one payload file that exists with the size on record."""
    facts = file_facts(record, path)
    attempts = Attempts()
    for target in requested_or_candidates(stores, record, requested):
        store = stores.store(record.profile, target)
        key = aip_key(record.aip_id, f"data/{path}")
        try:
            size = store.stat(key).size
            if size != facts.size:
                raise IntegrityError(f"data/{path} is {size} bytes, expected {facts.size}")
            return target, store.open(key)
        except PreserveError as exc:
            attempts.add(target, exc)
    raise attempts.error(record.aip_id)


def iter_verified(stream: BinaryIO, path: str, facts: FileFacts, target: str) -> Iterator[bytes]:
    """The whole file, the last chunk released only once the sha256 matches."""

    def mismatch(read: int, sha256: str) -> str:
        return (
            f"{target}: data/{path} read {read} bytes with sha256 {sha256}, "
            f"expected {facts.size} bytes with {facts.sha256}"
        )

    return iter_checked(stream, facts.size, facts.sha256, mismatch)


def iter_range(stream: BinaryIO, byte_range: ByteRange) -> Iterator[bytes]:
    with stream:
        _skip(stream, byte_range.start)
        remaining = byte_range.length
        while remaining:
            chunk = stream.read(min(CHUNK, remaining))
            if not chunk:
                raise StorageError(f"object ended {remaining} bytes before the range did")
            remaining -= len(chunk)
            yield chunk


def _skip(stream: BinaryIO, offset: int) -> None:
    """Seek where the store allows it; otherwise (an S3 body) read and drop the bytes."""
    if offset and stream.seekable():
        stream.seek(offset)
        return
    while offset:
        chunk = stream.read(min(CHUNK, offset))
        if not chunk:
            raise StorageError("object ended before the range began")
        offset -= len(chunk)
