"""Receiving a SIP upload as a stream: a multipart form, or a serialized bag as the whole body.

The request body is fed to python-multipart's low-level parser (or straight to a file) in
batches of about 1 MiB on a worker thread, so the event loop never waits on disk or hashing and
no file is ever held whole in memory. Form fields: ``metadata`` (JSON, once), ``files`` (one
per file; the filename is the relative path inside the SIP), ``bag`` (a serialized BagIt bag,
once; then ``files`` may not be given) and ``uploads`` (JSON ``{"path": "<upload id>"}``:
finished resumable uploads that join the SIP under those paths).

A ``Content-Digest`` header (RFC 9530, ``sha-256`` or ``sha-512``) is checked over the body's
bytes as they arrive: check 1-12 (the package unchanged in transfer).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header

from preserve.aip.paths import UnsafePath
from preserve.errors import (
    InsufficientStorage,
    InvalidInput,
    MalformedUpload,
    PreserveError,
    UnsupportedMediaType,
)
from preserve.ingest.archive import safe_name
from preserve.ingest.checks import Check, Report, fail_one
from preserve.ingest.metadata import MAX_METADATA_BYTES, InvalidMetadata
from preserve.ingest.staging import FileTooLarge, StagedFile, StagingWriter, fsync_files
from preserve.storage.space import disk_full

BATCH_BYTES = 1024 * 1024
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


@dataclass
class ReceivedUpload:
    metadata_raw: bytes | None = None
    files: list[StagedFile] = field(default_factory=list)
    bag_path: Path | None = None  # a serialized bag, as received
    bag_bytes: int = 0
    uploads_raw: bytes | None = None
    content_digest: Check | None = None


@dataclass(frozen=True)
class UploadLimits:
    """The bounds on one request's body and what is unpacked from it (from the settings)."""

    max_file_bytes: int
    max_files: int
    max_tag_file_bytes: int = 256 * 1024
    max_manifest_bytes: int = 32 * 1024**2
    max_metadata_value_bytes: int = 256 * 1024
    max_unpack_ratio: float = 20

    @classmethod
    def of(cls, settings) -> UploadLimits:
        return cls(
            settings.max_file_bytes,
            settings.max_files_per_sip,
            settings.max_tag_file_bytes,
            settings.max_manifest_bytes,
            settings.max_metadata_value_bytes,
            settings.max_unpack_ratio,
        )


class _PartHandler:
    """The parser's callbacks: route each part to the metadata buffer or a staging file."""

    def __init__(self, payload_root: Path, limits: UploadLimits, bag_path: Path) -> None:
        self.payload_root = payload_root
        self.bag_path = bag_path
        self._bag: BinaryIO | None = None
        self.limits = limits
        self.result = ReceivedUpload()
        self.written: list[Path] = []  # fsynced together once the body is in (fsync_files)
        self._headers: dict[str, bytes] = {}
        self._field = b""
        self._value = b""
        self._kind: str | None = None
        self._meta = bytearray()
        self._writer: StagingWriter | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._append_field(d[s:e]),
            "on_header_value": lambda d, s, e: self._append_value(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._field = self._value = b""
        self._kind = None

    def _append_field(self, data: bytes) -> None:
        self._field += data

    def _append_value(self, data: bytes) -> None:
        self._value += data

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        disposition = self._headers.get("content-disposition", b"").decode("latin-1")
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name in ("metadata", "uploads"):
            if getattr(self.result, f"{name}_raw") is not None or self._kind_seen(name):
                raise InvalidMetadata(f"the {name} field is given more than once")
            self._kind = name
            self._meta = bytearray()
        elif name == "bag":
            if self.result.bag_path is not None or self._bag is not None:
                raise InvalidInput("the bag field is given more than once")
            self.bag_path.parent.mkdir(parents=True, exist_ok=True)
            self._bag = open(self.bag_path, "xb")  # noqa: SIM115 - closed at part end / abort
            self._kind = "bag"
        elif name == "files":
            raw = options.get(b"filename")
            if raw is None:
                raise InvalidInput("a 'files' field has no filename")
            try:
                relpath = safe_name(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise UnsafePath("a filename is not UTF-8") from None
            if len(self.result.files) >= self.limits.max_files:
                raise InvalidInput(f"more than {self.limits.max_files} files in one SIP")
            self._writer = StagingWriter(
                self.payload_root, relpath, self.limits.max_file_bytes, fsync=False
            )
            self._kind = "file"
        else:
            raise InvalidInput(
                f"unexpected form field {name!r}; expected 'metadata', 'files', 'bag' or 'uploads'"
            )

    def _kind_seen(self, name: str) -> bool:
        return self._kind == name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._kind == "file" and self._writer is not None:
            self._writer.write(memoryview(data)[start:end])
        elif self._kind == "bag" and self._bag is not None:
            self.result.bag_bytes += end - start
            if self.result.bag_bytes > self.limits.max_file_bytes:
                raise FileTooLarge(f"the bag is larger than {self.limits.max_file_bytes} bytes")
            self._bag.write(memoryview(data)[start:end])
        elif self._kind in ("metadata", "uploads"):
            if len(self._meta) + (end - start) > MAX_METADATA_BYTES:
                raise InvalidMetadata(f"{self._kind} is larger than {MAX_METADATA_BYTES} bytes")
            self._meta += data[start:end]

    def _part_end(self) -> None:
        if self._kind == "file" and self._writer is not None:
            self.result.files.append(self._writer.finish())
            self.written.append(self._writer.path)
            self._writer = None
        elif self._kind == "bag" and self._bag is not None:
            _close_durably(self._bag)
            self._bag = None
            self.result.bag_path = self.bag_path
        elif self._kind in ("metadata", "uploads"):
            setattr(self.result, f"{self._kind}_raw", bytes(self._meta))
        self._kind = None

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        if self._bag is not None:
            self._bag.close()
            self._bag = None


def _close_durably(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


def _b64(text: str) -> bytes | None:
    """Strict base64, or None (``:A:`` is not a digest)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


class BodyDigest:
    """RFC 9530 ``Content-Digest`` (sha-256 or sha-512), checked over the body as it arrives."""

    _ITEM = re.compile(r"\s*(sha-256|sha-512)\s*=\s*:([A-Za-z0-9+/=]*):\s*")

    def __init__(self, header: str | None) -> None:
        self.expected: tuple[str, bytes] | None = None
        self.malformed = False
        if header:
            for item in header.split(","):
                match = self._ITEM.fullmatch(item)
                if match and (value := _b64(match[2])) is not None:
                    self.expected = (match[1], value)
                    break
            else:
                self.malformed = True
        alg = self.expected[0].replace("-", "") if self.expected else None
        self._hash = hashlib.new(alg) if alg else None

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)

    def check(self) -> Check | None:
        report = Report()
        if self.malformed:
            report.fail("1-12", "Content-Digest names no well-formed sha-256 or sha-512 digest")
        elif self.expected is not None and self._hash is not None:
            alg, want = self.expected
            if self._hash.digest() == want:
                report.passed("1-12", f"Content-Digest {alg} of the body verified")
            else:
                got = base64.b64encode(self._hash.digest()).decode()
                report.fail(
                    "1-12", f"Content-Digest {alg} does not match the body (received {got})"
                )
        return report.checks[0] if report.checks else None


class _Pipeline:
    """Hands batches to a worker thread one at a time, in order, while the event loop goes on
    reading the next batch from the socket: receiving overlaps parsing, hashing and writing."""

    def __init__(self, work) -> None:
        self._work = work
        self._pending: asyncio.Future | None = None

    async def push(self, data: bytes) -> None:
        await self.drain(raise_errors=True)
        self._pending = asyncio.ensure_future(anyio.to_thread.run_sync(self._work, data))

    async def drain(self, raise_errors: bool = False) -> None:
        """Wait for the batch in flight. On the error path (``raise_errors`` false) its own
        error is dropped: the one being handled already says what went wrong, and the thread
        must be done before the staged files are closed and removed."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            await asyncio.shield(pending)
        except Exception:
            if raise_errors:
                raise


async def receive_multipart(
    chunks: AsyncIterator[bytes],
    content_type: str,
    payload_root: Path,
    limits: UploadLimits,
    bag_path: Path | None = None,
    digest: BodyDigest | None = None,
) -> ReceivedUpload:
    """Stream a multipart body into ``payload_root``. On error the caller discards staging."""
    ctype, params = parse_options_header(content_type)
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType(
            f"expected multipart/form-data with a boundary, or a serialized bag "
            f"(application/zip, application/x-tar, application/gzip), got "
            f"{content_type or 'nothing'!r}"
        )
    if not _BOUNDARY.fullmatch(params[b"boundary"]):
        raise MalformedUpload("the multipart boundary is not 1 to 70 characters (RFC 2046)")
    payload_root.mkdir(parents=True, exist_ok=True)
    bag_path = bag_path or payload_root.parent.parent / "incoming" / "bag"
    handler = _PartHandler(payload_root, limits, bag_path)
    parser = MultipartParser(params[b"boundary"], handler.callbacks())
    digest = digest or BodyDigest(None)
    batch = bytearray()

    def feed(data: bytes) -> None:
        digest.update(data)
        parser.write(data)

    feeding = _Pipeline(feed)
    try:
        try:
            async for chunk in chunks:
                batch += chunk
                if len(batch) >= BATCH_BYTES:
                    await feeding.push(bytes(batch))
                    batch.clear()
            if batch:
                await feeding.push(bytes(batch))
            await feeding.drain(raise_errors=True)
        finally:
            await feeding.drain()
        parser.finalize()
    except UnsafePath as exc:
        handler.abort()
        raise fail_one("P-1", exc.detail) from None
    except PreserveError:  # refused input, a body cut off: said as it is
        handler.abort()
        raise
    except Exception as exc:
        handler.abort()
        if disk_full(exc):  # the archive's disk, not the client's body
            raise InsufficientStorage(f"the staging area is full: {exc}") from exc
        raise MalformedUpload(f"the multipart body could not be parsed: {exc}") from exc
    if handler._kind is not None:
        handler.abort()
        raise MalformedUpload("the upload ended in the middle of a part")
    handler.result.content_digest = digest.check()
    await anyio.to_thread.run_sync(fsync_files, handler.written)
    return handler.result


async def receive_body(
    chunks: AsyncIterator[bytes], target: Path, max_bytes: int, digest: BodyDigest
) -> int:
    """The whole body into ``target`` (a serialized bag), bounded, fsynced; its size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    batch = bytearray()
    with open(target, "xb") as out:

        def write(data: bytes) -> None:
            digest.update(data)
            out.write(data)

        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge(f"the bag is larger than {max_bytes} bytes")
            batch += chunk
            if len(batch) >= BATCH_BYTES:
                await anyio.to_thread.run_sync(write, bytes(batch))
                batch.clear()
        if batch:
            await anyio.to_thread.run_sync(write, bytes(batch))
        out.flush()
        await anyio.to_thread.run_sync(os.fsync, out.fileno())
    return size
