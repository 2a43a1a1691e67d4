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
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio
from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, record_event
from preserve.errors import Conflict, IdempotencyConflict, InvalidInput
from preserve.ingest import repository, uploads
from preserve.ingest.bagin import ReceivedBag, unpack_bag
from preserve.ingest.checks import Report, checks_failed
from preserve.ingest.intake import Intake, check_intake, metadata_from_bag_info
from preserve.ingest.metadata import bound_values, load_document, normalize, parse_json
from preserve.ingest.profile import IngestProfile, UnpackLimits
from preserve.ingest.receive import (
    BodyDigest,
    UnsupportedMediaType,
    UploadLimits,
    receive_body,
    receive_multipart,
)
from preserve.ingest.service import register_sip, reject_on_receipt
from preserve.ingest.staging import (
    StagedFile,
    bag_dir,
    discard,
    folders,
    fsync_files,
    fsync_tree,
    save_sender_files,
    sip_dir,
)
from preserve.storage.placement import profile_for_sip
from preserve.storage.stores import Stores

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
class Received:
    """What a request brought, received into staging and not yet checked."""

    source: str
    metadata_raw: bytes | None = None
    files: list[StagedFile] = field(default_factory=list)
    bag: ReceivedBag | None = None
    uploads: dict[str, str] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    content_digest: object = None
    limits: UploadLimits | None = None


@dataclass(frozen=True)
class Placement:
    """The storage profile a new SIP is recorded under, and whether an administrator chose it."""

    profile_ref: str
    overridden: bool


def placement(
    session: Session, stores: Stores, agency_id: int, override: str | None
) -> tuple[str, Placement]:
    """The agency's name and where its new SIP is to be stored (``override``: an
    administrator's choice, checked before a byte of the body is read)."""
    agency = repository.agency(session, agency_id)
    ref = profile_for_sip(stores, agency, override)
    return agency.name, Placement(ref, override is not None)


def clear_incoming(staging: Path, sip_id: str) -> None:
    """Accepted: the payload stays in staging; anything else: nothing is left of the body."""
    shutil.rmtree(sip_dir(staging, sip_id) / "incoming", ignore_errors=True)


async def receive(
    staging: Path,
    sip_id: str,
    chunks: AsyncIterator[bytes],
    content_type: str,
    digest_header: str | None,
    profile: IngestProfile,
    limits: UploadLimits,
) -> Received:
    """The body to staging, hashed as it arrives, by its media type; no session is held. An
    unsafe path stops the receiving with :class:`ChecksFailed` (the caller records the refusal
    with :func:`record_refusal`); on any error nothing is left in staging."""
    payload_root = bag_dir(staging, sip_id) / "data"
    incoming = sip_dir(staging, sip_id) / "incoming"
    digest = BodyDigest(digest_header)
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        if media in BAG_TYPES:
            size = await receive_body(chunks, incoming / "bag", limits.max_file_bytes, digest)
            received = Received("bag", content_digest=digest.check(), limits=limits)
            received.bag = await anyio.to_thread.run_sync(
                _unpack, incoming / "bag", size, payload_root, profile, limits
            )
            return received
        if media == "application/json":
            received = await _receive_json(chunks)
            received.limits = limits
            return received
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
    received = Received("multipart", form.metadata_raw, form.files, limits=limits)
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
            _unpack, form.bag_path, form.bag_bytes, payload_root, profile, limits
        )
    return received


async def _receive_json(chunks) -> Received:
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > 4 * 1024 * 1024:
            raise InvalidInput("a JSON SIP request is larger than 4 MiB; send files as uploads")
    doc = parse_json(bytes(body), "the JSON body")
    if not isinstance(doc, dict):
        raise InvalidInput("the JSON body must be an object")
    metadata = doc.get("metadata")
    raw = None if metadata is None else json.dumps(metadata, ensure_ascii=False).encode()
    received = Received("uploads", raw)
    received.uploads = _uploads_field(json.dumps(doc.get("uploads") or {}).encode())
    if doc.get("bag_upload"):
        received.uploads = {"\0bag": str(doc["bag_upload"])}
        received.source = "bag"
    return received


def _uploads_field(raw: bytes) -> dict[str, str]:
    doc = parse_json(raw, "the uploads field")
    if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
        raise InvalidInput('the uploads field must be {"path": "<upload id>", ...}')
    return doc


def _unpack(
    path: Path, size: int, payload_root: Path, profile: IngestProfile, limits: UploadLimits | None
) -> ReceivedBag:
    """Undo gzip (bounded while it runs), then unpack and validate the bag."""
    unpack = _unpack_limits(profile, limits)
    compressed_total = None
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        tar = path.with_name("bag.tar")
        problem = _gunzip(path, tar, unpack)
        if problem:
            tar.unlink(missing_ok=True)
            report = Report()
            report.fail("P-1", problem)
            return ReceivedBag(report)
        path.unlink()
        path, compressed_total = tar, size
    return unpack_bag(path, payload_root, unpack, compressed_total)


def _unpack_limits(profile: IngestProfile, limits: UploadLimits | None) -> UnpackLimits:
    """The profile's limits, tightened by the settings' (the smaller of each)."""
    if limits is None:
        return profile.limits
    own = profile.limits
    return replace(
        own,
        max_expansion_ratio=min(own.max_expansion_ratio, limits.max_unpack_ratio),
        max_one_tag_bytes=limits.max_tag_file_bytes,
        max_manifest_bytes=limits.max_manifest_bytes,
    )


def _gunzip(source: Path, target: Path, limits: UnpackLimits) -> str | None:
    """Decompress, refusing as soon as the output passes ``max_expansion_ratio`` times the
    body (1 MiB at least): a gzip bomb writes no more than that into staging."""
    ceiling = int(limits.max_expansion_ratio * source.stat().st_size)
    ceiling = min(max(ceiling, 1024 * 1024), limits.max_total_bytes + 64 * 1024)
    written = 0
    try:
        with gzip.open(source, "rb") as stream, open(target, "xb") as out:
            while data := stream.read(1024 * 1024):
                written += len(data)
                if written > ceiling:
                    return (
                        f"the gzip body expands past {ceiling} bytes "
                        f"({limits.max_expansion_ratio:g} times its size): refused as a "
                        "possible decompression bomb"
                    )
                out.write(data)
    except (OSError, EOFError, zlib.error) as exc:
        return f"the gzip body cannot be read: {str(exc)[:200]}"
    return None


def check_and_register(
    session: Session,
    staging: Path,
    agency_id: int,
    sip_id: str,
    received: Received,
    profile: IngestProfile,
    key: str | None,
    placement: Placement,
) -> Submitted:
    """Run the receiving checks and register the SIP, or answer the original of a replayed
    ``Idempotency-Key``. Before this transaction, :func:`keep_durably` has made what was
    received durable; a bag upload is unpacked before, with :func:`link_bag_upload` and
    :func:`unpack_bag_upload`. Raises :class:`ChecksFailed` for a
    refused transfer; the caller commits, or discards staging and records the refusal."""
    agency = repository.agency(session, agency_id)
    taken = _replay_of_taken_uploads(session, agency_id, key, received)
    if taken is not None:
        discard(staging, sip_id)
        return taken
    _take_uploads(session, staging, agency_id, sip_id, received)
    intake = check_intake(
        session,
        profile,
        agency_id=agency_id,
        metadata_raw=received.metadata_raw,
        files=_files(received),
        bag=received.bag,
        content_digest=received.content_digest,
        today=dt.date.today(),
        max_value_bytes=_value_cap(received),
    )
    replay = _replay(session, agency_id, key, intake)
    if replay is not None:
        discard(staging, sip_id)
        return replay
    if intake.report.failures:
        raise checks_failed(intake.report, sip_id)
    if received.uploads:  # linked into the payload in this transaction: their names too
        fsync_tree(bag_dir(staging, sip_id))
    sip = register_sip(
        session,
        agency,
        sip_id,
        intake,
        _files(received),
        placement.profile_ref,
        source=received.source,
        idempotency_key=key,
    )
    if placement.overridden:
        _record_override(session, sip_id, agency_id, placement.profile_ref)
    uploads.consume(session, staging, received.uploads, sip_id)
    session.flush()
    return Submitted(sip_id, sip.state.value)


def _value_cap(received: Received) -> int:
    limits = received.limits or UploadLimits(0, 0)
    return limits.max_metadata_value_bytes


def _record_override(session: Session, sip_id: str, agency_id: int, profile_ref: str) -> None:
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


def _files(received: Received) -> list[StagedFile]:
    return received.bag.files if received.bag is not None else received.files


def names_bag_upload(received: Received) -> bool:
    """Whether the request sends its bag as a finished resumable upload (``bag_upload``)."""
    return "\0bag" in received.uploads


def link_bag_upload(
    session: Session, staging: Path, agency_id: int, sip_id: str, received: Received
) -> int:
    """The bag of a request that :func:`names_bag_upload`, hard-linked into the SIP's incoming
    folder; its length. Unpack it with :func:`unpack_bag_upload` once this transaction is
    over: unpacking is long and needs no session."""
    upload = uploads.get(session, received.uploads["\0bag"], agency_id)
    if upload.offset != upload.length:
        raise uploads.UploadIncomplete(f"upload {upload.id} is not finished")
    incoming = sip_dir(staging, sip_id) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    os.link(uploads.upload_file(staging, upload.id), incoming / "bag")
    return upload.length


def unpack_bag_upload(
    staging: Path, sip_id: str, received: Received, length: int, profile: IngestProfile
) -> None:
    incoming = sip_dir(staging, sip_id) / "incoming"
    received.bag = _unpack(
        incoming / "bag", length, bag_dir(staging, sip_id) / "data", profile, received.limits
    )


def _take_uploads(
    session: Session, staging: Path, agency_id: int, sip_id: str, received: Received
) -> None:
    """Finished uploads named as payload files, hard-linked into the SIP's payload."""
    if not received.uploads or "\0bag" in received.uploads:
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
        raise checks_failed(received.report, sip_id)


def _replay(session, agency_id: int, key: str | None, intake: Intake) -> Submitted | None:
    if key is None:
        return None
    original = repository.sip_by_idempotency_key(session, agency_id, key)
    if original is None:
        return None
    if original.request_fingerprint != intake.fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was used for SIP {original.id} with other content"
        )
    return Submitted(original.id, original.state.value, replay=True)


def _replay_of_taken_uploads(
    session: Session, agency_id: int, key: str | None, received: Received
) -> Submitted | None:
    """A retry whose uploads the original of its key already took (they are gone from staging,
    so its fingerprint cannot be made again): the original, as any replay."""
    if key is None or not received.uploads or "\0bag" in received.uploads:
        return None
    original = repository.sip_by_idempotency_key(session, agency_id, key)
    if original is None:
        return None
    named = [repository.upload(session, str(u)) for u in received.uploads.values()]
    if all(u is not None and u.sip_id == original.id for u in named):
        return Submitted(original.id, original.state.value, replay=True)
    return None


def answer_race(session: Session, agency_id: int, key: str) -> Submitted:
    """Another request with the same key committed first: answer as a retry would."""
    original = repository.sip_by_idempotency_key(session, agency_id, key)
    if original is None:
        raise Conflict(f"Idempotency-Key {key!r} is being used by another request")
    return Submitted(original.id, original.state.value, replay=True)


def keep_durably(staging: Path, sip_id: str, received: Received) -> None:
    """Keep the sender's own files (a bag's tag files, the metadata as sent) and make the SIP
    durable in staging: those files' bytes, and every new name down from the staging folder
    (the payload's bytes were fsynced as they arrived). Called before the transaction that
    registers the SIP, so no database lock is held while the disk flushes; all the fsyncs are
    issued at once, and the file system takes them in one journal commit where it can."""
    files = dict(received.bag.tag_files) if received.bag is not None else {}
    if received.metadata_raw is not None:
        files["metadata.json"] = received.metadata_raw
    kept = save_sender_files(staging, sip_id, files)
    fsync_files([*kept, *folders(sip_dir(staging, sip_id)), staging])


def record_refusal(
    session: Session,
    agency_id: int,
    sip_id: str,
    report: Report,
    received: Received,
    placement: Placement,
) -> None:
    """The refused transfer on record: a REJECTED SIP and a rejection event."""
    try:
        doc = load_document(received.metadata_raw)
    except InvalidInput:
        doc = metadata_from_bag_info(received.bag.info) if received.bag else {}
    doc = bound_values(doc, _value_cap(received))[0]
    reject_on_receipt(
        session,
        repository.agency(session, agency_id),
        sip_id,
        report,
        _files(received),
        normalize(doc)[0],
        placement.profile_ref,
        received.source,
    )
