"""Resumable uploads for large files, after the tus 1.0.0 core protocol (https://tus.io).

``POST /v1/uploads`` with ``Upload-Length`` (and optional ``Upload-Metadata``) creates an
upload (``Location``); ``PATCH`` with ``Upload-Offset`` and ``Content-Type:
application/offset+octet-stream`` appends bytes at that offset, which must be the server's
(else 409 Conflict); ``HEAD`` answers the current ``Upload-Offset`` and ``Upload-Length``.
Every response carries ``Tus-Resumable: 1.0.0``. A connection that drops in a PATCH keeps the
bytes that arrived (they are flushed and the offset recorded), so the client asks HEAD and
goes on from there. Extensions: creation, termination (``DELETE``) and expiration
(``Upload-Expires``; the profile's ``uploads.expire_hours``).

Bytes are hashed (sha256, sha512) as they are written; the hasher's state stays in the API
process between PATCH requests, and if it is lost (a restart, another process) the bytes
already on disk are hashed again once before appending. A finished upload is then named in a
SIP (``uploads`` in the form, or ``POST /v1/sips`` with a JSON body); the SIP takes the file by
a hard link, so a rejected SIP leaves the upload usable, and an accepted one consumes it.
Memory stays flat: a PATCH body is written in batches of at most 1 MiB.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import anyio
from sqlalchemy.orm import Session

from preserve.catalog.models import Upload, new_id
from preserve.catalog.types import utcnow
from preserve.digests import MultiHasher
from preserve.errors import Conflict, InvalidInput, NotFound
from preserve.ingest import repository
from preserve.ingest.staging import StagedFile

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
BATCH = 1024 * 1024

_hashers: dict[str, tuple[int, MultiHasher]] = {}
_locks: dict[str, _Lock] = {}
_guard = threading.Lock()


def upload_dir(staging_root: Path) -> Path:
    return staging_root / "uploads"


def upload_file(staging_root: Path, upload_id: str) -> Path:
    return upload_dir(staging_root) / upload_id


def parse_metadata_header(header: str | None) -> dict[str, str]:
    """``Upload-Metadata: key base64value,key2 base64value2`` (values may be absent)."""
    out: dict[str, str] = {}
    for item in (header or "").split(","):
        if not item.strip():
            continue
        key, _, value = item.strip().partition(" ")
        try:
            out[key] = base64.b64decode(value, validate=True).decode("utf-8") if value else ""
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(f"Upload-Metadata value for {key!r} is not base64 UTF-8") from None
    return out


def create(
    session: Session,
    staging_root: Path,
    agency_id: int,
    length: int,
    metadata: dict[str, str],
    max_bytes: int,
    expire_hours: float,
) -> Upload:
    if length < 0:
        raise InvalidInput("Upload-Length must be a non-negative integer")
    if length > max_bytes:
        from preserve.ingest.staging import FileTooLarge

        raise FileTooLarge(f"Upload-Length {length} is over this archive's {max_bytes} bytes")
    _purge_expired(session, staging_root, agency_id)
    upload = Upload(
        id=new_id(),
        agency_id=agency_id,
        length=length,
        offset=0,
        upload_metadata=metadata,
        expires_at=utcnow() + timedelta(hours=expire_hours),
    )
    path = upload_file(staging_root, upload.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=False)
    session.add(upload)
    if length == 0:
        _finish(upload, MultiHasher(("sha256", "sha512")))
    return upload


def get(session: Session, upload_id: str, agency_id: int | None) -> Upload:
    """The upload, looked up with its agency in the same query (a foreign id costs what an
    unknown one does)."""
    upload = repository.upload(session, upload_id, agency_id)
    if upload is None:
        raise NotFound(f"no upload {upload_id}")
    if upload.sip_id is not None:
        raise NotFound(f"upload {upload_id} was taken by SIP {upload.sip_id}")
    return upload


@asynccontextmanager
async def lock(upload_id: str) -> AsyncIterator[None]:
    """The lock an append holds from reading the offset to recording the new one; dropped
    when no request holds or waits for it (take it only for an upload that exists)."""
    with _guard:
        entry = _locks.setdefault(upload_id, _Lock(anyio.Lock()))
        entry.users += 1
    try:
        async with entry.lock:
            yield
    finally:
        with _guard:
            entry.users -= 1
            if entry.users == 0:
                _locks.pop(upload_id, None)


@dataclass
class _Lock:
    lock: anyio.Lock
    users: int = 0


@dataclass
class Appending:
    """One PATCH: where it started and how many bytes are on disk so far."""

    upload_id: str
    start: int
    length: int
    written: int


def start_append(upload: Upload, offset: int) -> Appending:
    if offset != upload.offset:
        raise Conflict(f"Upload-Offset {offset} does not match the upload's {upload.offset}")
    return Appending(upload.id, offset, upload.length, offset)


async def write(staging_root: Path, appending: Appending, chunks: AsyncIterator[bytes]) -> None:
    """Append the body at the upload's offset; on a dropped connection keep what arrived (the
    caller records ``appending.written`` with :func:`record_offset` in any case), then re-raise.
    """
    upload_id, offset = appending.upload_id, appending.start
    path = upload_file(staging_root, upload_id)
    hasher = await anyio.to_thread.run_sync(_hasher_at, upload_id, path, offset)
    written = [offset]  # bytes on disk so far, kept up to date by _copy
    out = await anyio.to_thread.run_sync(_open_at, path, offset)
    try:
        await _copy(chunks, out, hasher, written, appending.length)
    finally:
        await anyio.to_thread.run_sync(_close, out)
        _hashers[upload_id] = (written[0], hasher)
        appending.written = written[0]


async def _copy(chunks, out, hasher: MultiHasher, written: list[int], length: int) -> None:
    batch = bytearray()

    def flush(data: bytes) -> None:
        out.write(data)
        hasher.update(data)
        written[0] += len(data)

    try:
        async for chunk in chunks:
            if written[0] + len(batch) + len(chunk) > length:
                raise InvalidInput(f"the body goes past Upload-Length {length}")
            batch += chunk
            if len(batch) >= BATCH:
                await anyio.to_thread.run_sync(flush, bytes(batch))
                batch.clear()
    finally:  # on a dropped connection too: keep every byte that arrived
        if batch:
            await anyio.to_thread.run_sync(flush, bytes(batch))


def _hasher_at(upload_id: str, path: Path, offset: int) -> MultiHasher:
    cached = _hashers.pop(upload_id, None)
    if cached is not None and cached[0] == offset:
        return cached[1]
    hasher = MultiHasher(("sha256", "sha512"))  # state lost: hash what is already there
    with open(path, "rb") as f:
        left = offset
        while left and (data := f.read(min(BATCH, left))):
            hasher.update(data)
            left -= len(data)
    return hasher


def _open_at(path: Path, offset: int):
    out = open(path, "r+b")  # noqa: SIM115 - closed by _close
    out.truncate(offset)  # bytes past the recorded offset were never acknowledged
    out.seek(offset)
    return out


def _close(out) -> None:
    out.flush()
    os.fsync(out.fileno())
    out.close()


def record_offset(session: Session, appending: Appending) -> None:
    """The bytes on disk acknowledged; a finished upload gets its digests."""
    upload_id = appending.upload_id
    if not repository.advance_upload(session, upload_id, appending.start, appending.written):
        raise Conflict(f"upload {upload_id} was changed by another request")
    upload = repository.upload(session, upload_id)
    if upload is not None and appending.written == upload.length:
        cached = _hashers.pop(upload_id, None)
        if cached is not None:
            _finish(upload, cached[1])


def _finish(upload: Upload, hasher: MultiHasher) -> None:
    digests = hasher.hexdigests()
    upload.sha256, upload.sha512 = digests["sha256"], digests["sha512"]


def terminate(session: Session, staging_root: Path, upload: Upload) -> None:
    session.delete(upload)
    upload_file(staging_root, upload.id).unlink(missing_ok=True)
    _hashers.pop(upload.id, None)


def _purge_expired(session: Session, staging_root: Path, agency_id: int) -> None:
    for upload in repository.expired_uploads(session, agency_id):
        terminate(session, staging_root, upload)


def link_into(
    session: Session,
    staging_root: Path,
    agency_id: int,
    mapping: dict[str, str],
    payload_root: Path,
) -> tuple[list[StagedFile], list[str]]:
    """Hard-link finished uploads into a SIP's payload; the files and what went wrong."""
    from preserve.aip.paths import UnsafePath, safe_relative_path

    files, problems = [], []
    for raw_path, upload_id in sorted(mapping.items()):
        try:
            path = safe_relative_path(raw_path)
            upload = get(session, str(upload_id), agency_id)
        except (UnsafePath, NotFound) as exc:
            problems.append(f"{raw_path}: {exc.detail}")
            continue
        if upload.offset != upload.length or upload.sha256 is None:
            problems.append(
                f"{path}: upload {upload.id} has {upload.offset} of {upload.length} bytes"
            )
            continue
        target = payload_root.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(upload_file(staging_root, upload.id), target)
        except FileExistsError:
            problems.append(f"{path}: given twice")
            continue
        files.append(StagedFile(path, upload.length, upload.sha256, upload.sha512 or ""))
    return files, problems


def consume(session: Session, staging_root: Path, mapping: dict[str, str], sip_id: str) -> None:
    """Mark the uploads taken by an accepted SIP; their own links go once it commits."""
    from preserve.catalog.db import after_commit

    for upload_id in mapping.values():
        upload = repository.upload(session, str(upload_id))
        if upload is not None:
            upload.sip_id = sip_id
            path = upload_file(staging_root, upload.id)
            after_commit(session, lambda p=path: p.unlink(missing_ok=True))
