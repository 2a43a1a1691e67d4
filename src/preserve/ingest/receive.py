"""Receiving a multipart/form-data SIP upload as a stream.

The request body is fed to python-multipart's low-level parser in batches of about 1 MiB on a
worker thread, so the event loop never waits on disk or hashing and no file is ever held whole
in memory. Fields: ``metadata`` (JSON, once) and ``files`` (one per file; the filename is the
relative path inside the SIP).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header

from preserve.errors import InvalidInput
from preserve.ingest.metadata import MAX_METADATA_BYTES, InvalidMetadata
from preserve.ingest.paths import safe_relative_path
from preserve.ingest.staging import StagedFile, StagingWriter

BATCH_BYTES = 1024 * 1024


class UnsupportedMediaType(InvalidInput):
    slug = "unsupported-media-type"
    title = "The request body is not of a type this endpoint accepts"
    status = 415


class MalformedUpload(InvalidInput):
    slug = "malformed-upload"
    title = "The multipart body could not be read"
    status = 400


@dataclass
class ReceivedUpload:
    metadata_raw: bytes | None = None
    files: list[StagedFile] = field(default_factory=list)


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_files: int


class _PartHandler:
    """The parser's callbacks: route each part to the metadata buffer or a staging file."""

    def __init__(self, payload_root: Path, limits: UploadLimits) -> None:
        self.payload_root = payload_root
        self.limits = limits
        self.result = ReceivedUpload()
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
        if name == "metadata":
            if self.result.metadata_raw is not None or self._meta:
                raise InvalidMetadata("the metadata field is given more than once")
            self._kind = "metadata"
        elif name == "files":
            raw = options.get(b"filename")
            if raw is None:
                raise InvalidInput("a 'files' field has no filename")
            try:
                relpath = safe_relative_path(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise InvalidInput("a filename is not UTF-8") from None
            if len(self.result.files) >= self.limits.max_files:
                raise InvalidInput(f"more than {self.limits.max_files} files in one SIP")
            self._writer = StagingWriter(self.payload_root, relpath, self.limits.max_file_bytes)
            self._kind = "file"
        else:
            raise InvalidInput(f"unexpected form field {name!r}; expected 'metadata' or 'files'")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._kind == "file" and self._writer is not None:
            self._writer.write(memoryview(data)[start:end])
        elif self._kind == "metadata":
            if len(self._meta) + (end - start) > MAX_METADATA_BYTES:
                raise InvalidMetadata(f"metadata is larger than {MAX_METADATA_BYTES} bytes")
            self._meta += data[start:end]

    def _part_end(self) -> None:
        if self._kind == "file" and self._writer is not None:
            self.result.files.append(self._writer.finish())
            self._writer = None
        elif self._kind == "metadata":
            self.result.metadata_raw = bytes(self._meta)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None


async def receive_multipart(
    chunks: AsyncIterator[bytes], content_type: str, payload_root: Path, limits: UploadLimits
) -> ReceivedUpload:
    """Stream a multipart body into ``payload_root``. On error the caller discards staging."""
    ctype, params = parse_options_header(content_type)
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType(
            f"expected multipart/form-data with a boundary, got {content_type or 'nothing'!r}"
        )
    payload_root.mkdir(parents=True, exist_ok=True)
    handler = _PartHandler(payload_root, limits)
    parser = MultipartParser(params[b"boundary"], handler.callbacks())
    batch = bytearray()
    try:
        async for chunk in chunks:
            batch += chunk
            if len(batch) >= BATCH_BYTES:
                await anyio.to_thread.run_sync(parser.write, bytes(batch))
                batch.clear()
        if batch:
            await anyio.to_thread.run_sync(parser.write, bytes(batch))
        parser.finalize()
    except InvalidInput:
        handler.abort()
        raise
    except Exception as exc:
        handler.abort()
        raise MalformedUpload(f"the multipart body could not be parsed: {exc}") from exc
    if handler._kind is not None and handler._writer is not None:
        handler.abort()
        raise MalformedUpload("the upload ended in the middle of a file")
    return handler.result
