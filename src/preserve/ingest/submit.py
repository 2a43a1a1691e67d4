"""``POST /v1/sips`` from the body to the 202: the three ways in, the checks, idempotency.

Ways in, by ``Content-Type``:

- ``multipart/form-data``: ``metadata`` + ``files``; or ``metadata`` (optional) + ``bag``;
  and/or ``uploads`` naming finished resumable uploads;
- ``application/zip``, ``application/x-tar``, ``application/gzip`` (and their ``x-`` and
  ``+gzip`` spellings): a serialized bag as the whole body, metadata from ``bag-info.txt``;
- ``application/json``: ``{"metadata": {...}, "uploads": {"path": "<upload id>"}}`` or
  ``{"metadata": {...}, "bag_upload": "<upload id>"}`` (a serialized bag sent resumably).

Idempotency: with an ``Idempotency-Key`` header, an accepted SIP records the key and the
fingerprint of its content (the metadata as sent and every file's path, size and sha256). A
request with the same key and the same content answers the original SIP (its current state),
and leaves nothing behind; the same key with other content is 409. A request that is refused
does not take its key, so the agency may correct it and send it again under the same key.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from preserve.catalog.db import session_scope
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Agency, new_id
from preserve.errors import Conflict, IdempotencyConflict, InvalidInput
from preserve.ingest import uploads
from preserve.ingest.bagin import ReceivedBag, unpack_bag
from preserve.ingest.checks import ChecksFailed, Report
from preserve.ingest.intake import Intake, check_intake
from preserve.ingest.profile import IngestProfile, load_profile
from preserve.ingest.receive import (
    BodyDigest,
    UnsupportedMediaType,
    UploadLimits,
    receive_body,
    receive_multipart,
)
from preserve.ingest.service import find_by_idempotency_key, register_sip, reject_on_receipt
from preserve.ingest.staging import (
    StagedFile,
    bag_dir,
    discard,
    fsync_tree,
    save_sender_files,
    sip_dir,
)
from preserve.runtime import Runtime
from preserve.storage.placement import profile_for_sip

BAG_TYPES = {
    "application/zip",
    "application/x-zip-compressed",
    "application/x-tar",
    "application/tar",
    "application/gzip",
    "application/x-gzip",
    "application/tar+gzip",
}


@dataclass
class Submitted:
    sip_id: str
    state: str
    replay: bool = False


@dataclass
class _Received:
    source: str
    metadata_raw: bytes | None = None
    files: list[StagedFile] = field(default_factory=list)
    bag: ReceivedBag | None = None
    uploads: dict[str, str] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    content_digest: object = None


async def submit(
    rt: Runtime,
    agency_id: int,
    chunks: AsyncIterator[bytes],
    content_type: str,
    *,
    idempotency_key: str | None = None,
    content_digest: str | None = None,
    profile_override: str | None = None,
) -> Submitted:
    """Receive, check and register one SIP. ``profile_override`` (an administrator's choice of
    storage profile for this SIP) is checked before a byte of the body is read."""
    sip_id = new_id()
    staging = rt.settings.staging_dir
    try:
        agency_name, placement = await anyio.to_thread.run_sync(
            _placement, rt, agency_id, profile_override
        )
        profile = load_profile(rt.settings.profiles_dir, agency_name)
        try:
            received = await _receive(rt, sip_id, chunks, content_type, content_digest, profile)
        except ChecksFailed as exc:  # an unsafe path stops the receiving: on record all the same
            exc.extra["sip_id"] = sip_id
            refused = _Received("multipart")
            await anyio.to_thread.run_sync(
                _record_refusal, rt, agency_id, sip_id, exc.report, refused, profile, placement
            )
            raise
        return await anyio.to_thread.run_sync(
            _check_and_register,
            rt,
            agency_id,
            sip_id,
            received,
            profile,
            idempotency_key,
            placement,
        )
    finally:  # accepted: the payload stays in staging; anything else: nothing is left
        incoming = sip_dir(staging, sip_id) / "incoming"
        shutil.rmtree(incoming, ignore_errors=True)


@dataclass(frozen=True)
class _Placement:
    profile_ref: str
    overridden: bool


def _placement(rt: Runtime, agency_id: int, override: str | None) -> tuple[str, _Placement]:
    with session_scope(rt.sessions) as session:
        agency = session.get(Agency, agency_id)
        ref = profile_for_sip(rt.stores, agency, override)
        return agency.name, _Placement(ref, override is not None)


async def _receive(
    rt: Runtime,
    sip_id: str,
    chunks,
    content_type: str,
    digest_header: str | None,
    profile: IngestProfile,
) -> _Received:
    staging = rt.settings.staging_dir
    payload_root = bag_dir(staging, sip_id) / "data"
    incoming = sip_dir(staging, sip_id) / "incoming"
    limits = UploadLimits(rt.settings.max_file_bytes, rt.settings.max_files_per_sip)
    digest = BodyDigest(digest_header)
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        if media in BAG_TYPES:
            size = await receive_body(chunks, incoming / "bag", limits.max_file_bytes, digest)
            received = _Received("bag", content_digest=digest.check())
            received.bag = await anyio.to_thread.run_sync(
                _unpack, incoming / "bag", size, payload_root, profile
            )
            return received
        if media == "application/json":
            return await _receive_json(chunks)
        if media != "multipart/form-data":
            raise UnsupportedMediaType(
                "expected multipart/form-data, application/json or a serialized bag "
                f"(application/zip, application/x-tar, application/gzip), got {media!r}"
            )
        form = await receive_multipart(
            chunks, content_type, payload_root, limits, incoming / "bag", digest
        )
    except BaseException:
        discard(staging, sip_id)
        raise
    received = _Received("multipart", form.metadata_raw, form.files)
    received.content_digest = form.content_digest
    if form.uploads_raw is not None:
        received.uploads = _uploads_field(form.uploads_raw)
        received.source = "uploads" if not form.files else "multipart"
    if form.bag_path is not None:
        if form.files:
            discard(staging, sip_id)
            raise InvalidInput("send either a 'bag' or 'files', not both")
        received.source = "bag"
        received.bag = await anyio.to_thread.run_sync(
            _unpack, form.bag_path, form.bag_bytes, payload_root, profile
        )
    return received


async def _receive_json(chunks) -> _Received:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > 4 * 1024 * 1024:
            raise InvalidInput("a JSON SIP request is larger than 4 MiB; send files as uploads")
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise InvalidInput(f"the JSON body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("the JSON body must be an object")
    metadata = doc.get("metadata")
    raw = None if metadata is None else json.dumps(metadata, ensure_ascii=False).encode()
    received = _Received("uploads", raw)
    received.uploads = _uploads_field(json.dumps(doc.get("uploads") or {}).encode())
    if doc.get("bag_upload"):
        received.uploads = {"\0bag": str(doc["bag_upload"])}
        received.source = "bag"
    return received


def _uploads_field(raw: bytes) -> dict[str, str]:
    try:
        doc = json.loads(raw)
    except ValueError:
        raise InvalidInput("the uploads field is not valid JSON") from None
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise InvalidInput('the uploads field must be {"path": "<upload id>", ...}')
    return doc


def _unpack(path: Path, size: int, payload_root: Path, profile: IngestProfile) -> ReceivedBag:
    """Undo gzip (bounded, ratio-checked), then unpack and validate the bag."""
    compressed_total = None
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        tar = path.with_name("bag.tar")
        problem = _gunzip(path, tar, profile)
        if problem:
            report = Report()
            report.fail("P-1", problem)
            return ReceivedBag(report)
        path.unlink()
        path, compressed_total = tar, size
    return unpack_bag(path, payload_root, profile.limits, compressed_total)


def _gunzip(source: Path, target: Path, profile: IngestProfile) -> str | None:
    limits = profile.limits
    ceiling = min(
        limits.max_total_bytes * 2, int(limits.max_expansion_ratio * source.stat().st_size)
    )
    ceiling = max(ceiling, 64 * 1024 * 1024)
    written = 0
    try:
        with gzip.open(source, "rb") as stream, open(target, "xb") as out:
            while data := stream.read(1024 * 1024):
                written += len(data)
                if written > ceiling:
                    return (
                        f"the gzip body expands past {ceiling} bytes: refused as a possible "
                        "decompression bomb"
                    )
                out.write(data)
    except (OSError, EOFError, zlib.error) as exc:
        return f"the gzip body cannot be read: {exc}"
    return None


def _check_and_register(
    rt: Runtime,
    agency_id: int,
    sip_id: str,
    received: _Received,
    profile: IngestProfile,
    key: str | None,
    placement: _Placement,
) -> Submitted:
    staging = rt.settings.staging_dir
    try:
        with session_scope(rt.sessions) as session:
            agency = session.get(Agency, agency_id)
            profile_ref = placement.profile_ref
            _take_uploads(session, rt, agency_id, sip_id, received, profile)
            intake = check_intake(
                session,
                profile,
                metadata_raw=received.metadata_raw,
                files=_files(received),
                bag=received.bag,
                content_digest=received.content_digest,
                today=dt.date.today(),
            )
            replay = _replay(session, agency_id, key, intake)
            if replay is not None:
                discard(staging, sip_id)
                return replay
            if intake.report.failures:
                raise ChecksFailed(intake.report, sip_id)
            _keep_sender_files(staging, sip_id, received, intake)
            fsync_tree(sip_dir(staging, sip_id))
            sip = register_sip(
                session,
                agency,
                sip_id,
                intake,
                _files(received),
                profile_ref,
                source=received.source,
                idempotency_key=key,
            )
            if placement.overridden:
                record_event(
                    session,
                    EventType.PROFILE_OVERRIDE,
                    Outcome.SUCCESS,
                    object_type="sip",
                    object_id=sip_id,
                    agency_id=agency_id,
                    detail=f"stored under profile {profile_ref!r} by an administrator's choice",
                    agent="api:admin",
                )
            uploads.consume(session, staging, received.uploads, sip_id)
            session.flush()
            state = sip.state.value
    except ChecksFailed as exc:
        discard(staging, sip_id)
        _record_refusal(rt, agency_id, sip_id, exc.report, received, profile, placement)
        raise
    except DbIntegrityError:
        discard(staging, sip_id)
        if key is None:
            raise
        return _after_race(rt, agency_id, key, received)
    except BaseException:
        discard(staging, sip_id)
        raise
    return Submitted(sip_id, state)


def _files(received: _Received) -> list[StagedFile]:
    return received.bag.files if received.bag is not None else received.files


def _take_uploads(session, rt, agency_id, sip_id, received: _Received, profile) -> None:
    if not received.uploads:
        return
    staging = rt.settings.staging_dir
    if "\0bag" in received.uploads:
        upload = uploads.get(session, received.uploads["\0bag"], agency_id)
        if upload.offset != upload.length:
            raise uploads.UploadIncomplete(f"upload {upload.id} is not finished")
        incoming = sip_dir(staging, sip_id) / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        os.link(uploads.upload_file(staging, upload.id), incoming / "bag")
        received.bag = _unpack(
            incoming / "bag", upload.length, bag_dir(staging, sip_id) / "data", profile
        )
        return
    linked, problems = uploads.link_into(
        session, staging, agency_id, received.uploads, bag_dir(staging, sip_id) / "data"
    )
    clash = {f.path for f in received.files} & {f.path for f in linked}
    problems += [f"{p}: given both as a file and as an upload" for p in sorted(clash)]
    received.files = received.files + linked
    for problem in problems:
        received.report.fail("2-1", f"upload not usable: {problem}")
    if received.report.failures:
        raise ChecksFailed(received.report, sip_id)


def _replay(session, agency_id: int, key: str | None, intake: Intake) -> Submitted | None:
    if key is None:
        return None
    original = find_by_idempotency_key(session, agency_id, key)
    if original is None:
        return None
    if original.request_fingerprint != intake.fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was used for SIP {original.id} with other content"
        )
    return Submitted(original.id, original.state.value, replay=True)


def _after_race(rt: Runtime, agency_id: int, key: str, received: _Received) -> Submitted:
    """Another request with the same key committed first: answer as a retry would."""
    with session_scope(rt.sessions) as session:
        original = find_by_idempotency_key(session, agency_id, key)
        if original is None:
            raise Conflict(f"Idempotency-Key {key!r} is being used by another request")
        return Submitted(original.id, original.state.value, replay=True)


def _keep_sender_files(staging: Path, sip_id: str, received: _Received, intake: Intake) -> None:
    files = dict(received.bag.tag_files) if received.bag is not None else {}
    if received.metadata_raw is not None:
        files["metadata.json"] = received.metadata_raw
    save_sender_files(staging, sip_id, files)


def _record_refusal(
    rt: Runtime,
    agency_id: int,
    sip_id: str,
    report: Report,
    received: _Received,
    profile: IngestProfile,
    placement: _Placement,
) -> None:
    """The refused transfer on record: a REJECTED SIP and a rejection event."""
    from preserve.ingest.intake import metadata_from_bag_info
    from preserve.ingest.metadata import load_document, normalize

    try:
        doc = load_document(received.metadata_raw)
    except InvalidInput:
        doc = metadata_from_bag_info(received.bag.info) if received.bag else {}
    with session_scope(rt.sessions) as session:
        agency = session.get(Agency, agency_id)
        reject_on_receipt(
            session,
            agency,
            sip_id,
            report,
            _files(received),
            normalize(doc)[0],
            placement.profile_ref,
            received.source,
        )
