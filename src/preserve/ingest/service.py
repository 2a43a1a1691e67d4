"""Ingest: register a received SIP, then check, identify and package it as a signed AIP."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, event_to_dict, record_event
from preserve.catalog.models import Agency, Aip, File, Sip, SipState, new_id
from preserve.catalog.repository import events_for
from preserve.errors import InvalidInput
from preserve.ingest import bag as bagit
from preserve.ingest.formats import Identification, identify_many
from preserve.ingest.metadata import InvalidMetadata, RecordMetadata, parse_metadata
from preserve.ingest.staging import StagedFile, bag_dir
from preserve.jobs.queue import enqueue
from preserve.runtime import Runtime

log = logging.getLogger(__name__)


class DigestMismatch(InvalidInput):
    slug = "digest-mismatch"
    title = "A declared digest does not match the received bytes"


class NoFiles(InvalidInput):
    slug = "no-files"
    title = "The SIP carries no files"


def check_upload(metadata_raw: bytes | None, files: list[StagedFile]) -> RecordMetadata:
    """Every check that can be made on the upload itself, before anything is registered."""
    if metadata_raw is None:
        raise InvalidMetadata("required field 'metadata' is missing from the form")
    metadata = parse_metadata(metadata_raw)
    if not files:
        raise NoFiles("the SIP has no 'files' field; send at least one file")
    received = {f.path: f for f in files}
    problems = []
    for path, declared in metadata.files.items():
        staged = received.get(path)
        if staged is None:
            problems.append(f"{path}: declared in metadata but not received")
        elif declared.sha256 and declared.sha256 != staged.sha256:
            problems.append(f"{path}: declared sha256 {declared.sha256}, received {staged.sha256}")
    if problems:
        raise DigestMismatch("; ".join(problems), failures=problems)
    return metadata


def register_sip(
    session: Session,
    agency: Agency,
    sip_id: str,
    metadata: RecordMetadata,
    files: list[StagedFile],
    profile_ref: str,
) -> Sip:
    """Record a durable, received SIP and queue its processing (the caller commits)."""
    sip = Sip(
        id=sip_id,
        agency_id=agency.id,
        state=SipState.RECEIVED,
        storage_profile=profile_ref,
        record_metadata=metadata.model_dump(mode="json"),
        manifest=[f.to_dict() for f in files],
        file_count=len(files),
        total_bytes=sum(f.size for f in files),
    )
    session.add(sip)
    record_event(
        session,
        EventType.INGESTION,
        Outcome.SUCCESS,
        object_type="sip",
        object_id=sip_id,
        agency_id=agency.id,
        detail=f"received {sip.file_count} files, {sip.total_bytes} bytes",
        agent=f"agency:{agency.name}",
    )
    record_event(
        session,
        EventType.MESSAGE_DIGEST_CALCULATION,
        Outcome.SUCCESS,
        object_type="sip",
        object_id=sip_id,
        agency_id=agency.id,
        detail="sha256 and sha512 computed while receiving",
    )
    session.flush()
    enqueue(session, "ingest.process", {"sip_id": sip_id}, dedupe_key=f"ingest:{sip_id}")
    return sip


def process_sip(rt: Runtime, sip_id: str) -> None:
    """Identify formats, build and sign the AIP bag, then queue it for storage."""
    with rt.sessions.begin() as session:
        sip = session.get(Sip, sip_id)
        if sip is None or sip.state != SipState.RECEIVED:
            return
        files = [StagedFile(**f) for f in sip.manifest]
        agency_name = sip.agency.name
        metadata = dict(sip.record_metadata)
        received_at = sip.received_at
    root = bag_dir(rt.settings.staging_dir, sip_id)
    identifications = identify_many(
        [(root / "data" / f.path, f.path) for f in files], workers=rt.settings.identify_workers
    )
    aip_id = new_id()
    with rt.sessions.begin() as session:
        sip = session.get(Sip, sip_id)
        if sip is None or sip.state != SipState.RECEIVED:
            return
        _record_identification(session, sip, identifications)
        session.flush()
        events = [event_to_dict(e) for e in events_for(session, "sip", sip_id)]
        built = bagit.write_bag(
            root,
            [
                bagit.PayloadEntry(f.path, f.size, {"sha256": f.sha256, "sha512": f.sha512})
                for f in files
            ],
            _bag_info(agency_name, sip_id, aip_id, metadata, received_at),
            {
                "record.json": _record_document(agency_name, sip_id, aip_id, sip, metadata),
                "formats.json": [i.to_dict() for i in identifications],
                "events.json": events,
            },
            rt.signing_key,
        )
        aip = _create_aip(session, sip, aip_id, files, identifications, built)
        sip.state = SipState.VALIDATED
        sip.aip_id = aip.id
        record_event(
            session,
            EventType.DIGITAL_SIGNATURE_GENERATION,
            Outcome.SUCCESS,
            object_type="aip",
            object_id=aip.id,
            agency_id=sip.agency_id,
            detail=f"tag manifest signed with Ed25519 key {built.signature.key_id}",
        )
        enqueue(session, "storage.store", {"aip_id": aip.id}, dedupe_key=f"store:{aip.id}")


def _record_identification(
    session: Session, sip: Sip, identifications: list[Identification]
) -> None:
    unidentified = [i.path for i in identifications if i.puid is None]
    registry = identifications[0].registry if identifications else ""
    detail = f"{len(identifications)} files identified with {registry}"
    if unidentified:
        detail += f"; no format found for: {', '.join(unidentified[:20])}"
    record_event(
        session,
        EventType.FORMAT_IDENTIFICATION,
        Outcome.WARNING if unidentified else Outcome.SUCCESS,
        object_type="sip",
        object_id=sip.id,
        agency_id=sip.agency_id,
        detail=detail,
        agent=identifications[0].tool if identifications else "fido",
    )
    record_event(
        session,
        EventType.VALIDATION,
        Outcome.SUCCESS,
        object_type="sip",
        object_id=sip.id,
        agency_id=sip.agency_id,
        detail="metadata complete; paths safe; declared digests match",
    )


def _create_aip(
    session: Session,
    sip: Sip,
    aip_id: str,
    files: list[StagedFile],
    identifications: list[Identification],
    built: bagit.BuiltBag,
) -> Aip:
    by_path = {i.path: i for i in identifications}
    aip = Aip(
        id=aip_id,
        sip_id=sip.id,
        agency_id=sip.agency_id,
        storage_profile=sip.storage_profile,
        title=sip.record_metadata["title"],
        archival_code=sip.record_metadata["archival_code"],
        record_metadata=sip.record_metadata,
        file_count=len(files),
        total_bytes=sum(f.size for f in files),
        signing_key_id=built.signature.key_id,
        tagmanifest_sha256=built.tagmanifest_sha256,
    )
    for f in files:
        ident = by_path.get(f.path)
        aip.files.append(
            File(
                path=f.path,
                size=f.size,
                sha256=f.sha256,
                sha512=f.sha512,
                puid=ident.puid if ident else None,
                format_name=ident.format_name if ident else None,
                format_method=ident.method if ident else None,
            )
        )
    session.add(aip)
    session.flush()
    return aip


def _bag_info(
    agency: str, sip_id: str, aip_id: str, metadata: dict[str, Any], received_at: datetime
) -> dict[str, str]:
    return {
        "Source-Organization": agency,
        "External-Identifier": metadata["archival_code"],
        "External-Description": metadata["title"],
        "Internal-Sender-Identifier": sip_id,
        "Bag-Group-Identifier": aip_id,
        "Bagging-Date": datetime.now(UTC).date().isoformat(),
        "Received-At": received_at.isoformat(),
    }


def _record_document(
    agency: str, sip_id: str, aip_id: str, sip: Sip, metadata: dict[str, Any]
) -> dict[str, Any]:
    return {
        "aip_id": aip_id,
        "sip_id": sip_id,
        "agency": agency,
        "storage_profile": sip.storage_profile,
        "received_at": sip.received_at.isoformat(),
        "metadata": metadata,
    }


def staging_payload_root(staging_root: Path, sip_id: str) -> Path:
    return bag_dir(staging_root, sip_id) / "data"
