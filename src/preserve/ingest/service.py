"""Ingest: register a received SIP (or its rejection), then check, identify and package it as a
signed AIP with its four-property report and receipt."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from preserve.aip import bag as bagit
from preserve.catalog.db import after_commit
from preserve.catalog.events import EventType, Outcome, event_to_dict, record_event
from preserve.catalog.models import Agency, Aip, Event, File, Sip, SipState, new_id
from preserve.catalog.queue import enqueue
from preserve.catalog.repository import events_for
from preserve.catalog.types import utcnow
from preserve.ingest import receipt as receipts
from preserve.ingest.checks import Report, reasons
from preserve.ingest.formats import Identification
from preserve.ingest.inspect import inspect_many
from preserve.ingest.intake import Intake
from preserve.ingest.profile import IngestProfile, load_profile
from preserve.ingest.staging import StagedFile, bag_dir, discard, sender_dir
from preserve.ingest.validation import Item, Validation, validate_many
from preserve.ingest.validation.events import record_validation_events
from preserve.ingest.worker_checks import format_checks, validation_checks, virus_checks
from preserve.runtime import Runtime
from preserve.trust.guomi import guomi_signer, guomi_tag_files
from preserve.trust.premis import aip_premis
from preserve.trust.signing import tagmanifest_signer

log = logging.getLogger(__name__)


def find_by_idempotency_key(session: Session, agency_id: int, key: str) -> Sip | None:
    return session.scalar(select(Sip).where(Sip.agency_id == agency_id, Sip.idempotency_key == key))


def register_sip(
    session: Session,
    agency: Agency,
    sip_id: str,
    intake: Intake,
    files: list[StagedFile],
    profile_ref: str,
    *,
    source: str = "multipart",
    idempotency_key: str | None = None,
) -> Sip:
    """Record a durable, received SIP and queue its processing (the caller commits)."""
    sip = _sip_row(agency, sip_id, intake.metadata, files, profile_ref, source, intake.report)
    sip.idempotency_key = idempotency_key
    sip.request_fingerprint = intake.fingerprint
    session.add(sip)
    record_event(
        session,
        EventType.INGESTION,
        Outcome.SUCCESS,
        object_type="sip",
        object_id=sip_id,
        agency_id=agency.id,
        detail=f"received {sip.file_count} files, {sip.total_bytes} bytes ({source})",
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


def reject_on_receipt(
    session: Session,
    agency: Agency,
    sip_id: str,
    report: Report,
    files: list[StagedFile],
    metadata: dict[str, Any],
    profile_ref: str,
    source: str,
) -> Sip:
    """A transfer refused in the request: a REJECTED SIP with its report and the rejection
    event against the agency, so refusals are on record like acceptances (the caller commits;
    the staging folder is the caller's to remove)."""
    sip = _sip_row(agency, sip_id, metadata, files, profile_ref, source, report)
    sip.state = SipState.REJECTED
    sip.reasons = reasons(report.failures)
    session.add(sip)
    _record_rejection(session, sip, report, f"agency:{agency.name}")
    return sip


def _sip_row(
    agency: Agency,
    sip_id: str,
    metadata: dict[str, Any],
    files: list[StagedFile],
    profile_ref: str,
    source: str,
    report: Report,
) -> Sip:
    return Sip(
        id=sip_id,
        agency_id=agency.id,
        state=SipState.RECEIVED,
        storage_profile=profile_ref,
        record_metadata=metadata,
        manifest=[f.to_dict() for f in files],
        file_count=len(files),
        total_bytes=sum(f.size for f in files),
        source=source,
        check_report=report.to_list(),
        reasons=[],
    )


def _record_rejection(session: Session, sip: Sip, report: Report, agent: str) -> None:
    failed = report.failures
    record_event(
        session,
        EventType.REJECTION,
        Outcome.FAILURE,
        object_type="sip",
        object_id=sip.id,
        agency_id=sip.agency_id,
        detail=f"{len(failed)} checks failed: " + "; ".join(reasons(failed))[:4000],
        agent=agent,
    )


def process_sip(rt: Runtime, sip_id: str) -> None:
    """Worker stage: identify formats, probe for encryption, scan for viruses; then reject, or
    build and sign the AIP bag with its report and receipt and queue it for storage."""
    with rt.sessions.begin() as session:
        sip = session.get(Sip, sip_id)
        if sip is None or sip.state != SipState.RECEIVED:
            return
        files = [StagedFile(**f) for f in sip.manifest]
        agency_name = sip.agency.name
        report = Report.from_list(sip.check_report or [])
    profile = load_profile(rt.settings.profiles_dir, agency_name)
    root = bag_dir(rt.settings.staging_dir, sip_id)
    items = [(root / "data" / f.path, f.path) for f in files]
    inspections = inspect_many(items, workers=rt.settings.identify_workers)
    identifications = [i.identification for i in inspections]
    report.extend(format_checks(inspections, profile))
    validations = validate_staged(items, identifications, profile, rt.settings.identify_workers)
    report.extend(validation_checks(validations, profile))
    report.extend(virus_checks(items, profile))
    with rt.sessions.begin() as session:
        sip = session.get(Sip, sip_id)
        if sip is None or sip.state != SipState.RECEIVED:
            return
        _record_checks(session, sip, report, identifications)
        record_validation_events(session, "sip", sip.id, sip.agency_id, validations)
        if report.failures:
            _reject_after_receipt(rt, session, sip, report)
            return
        _package(rt, session, sip, files, identifications, report, validations)


def validate_staged(
    items: list[tuple[Path, str]],
    identifications: list[Identification],
    profile: IngestProfile,
    workers: int,
) -> list[Validation]:
    """Check 3-4 over the staged payload, each file by the validator of its identified format."""
    to_check = [
        Item(path, shown, ident.puid, ident.matches[0].mime if ident.matches else None)
        for (path, shown), ident in zip(items, identifications, strict=True)
    ]
    return validate_many(to_check, profile.validation.limits, workers=workers)


def _reject_after_receipt(rt: Runtime, session: Session, sip: Sip, report: Report) -> None:
    sip.state = SipState.REJECTED
    sip.reasons = reasons(report.failures)
    sip.check_report = report.to_list()
    _record_rejection(session, sip, report, "preserve")
    staging, sip_id = rt.settings.staging_dir, sip.id
    after_commit(session, lambda: discard(staging, sip_id))


def _record_checks(
    session: Session, sip: Sip, report: Report, identifications: list[Identification]
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
    virus = [c for c in report.checks if c.code == "4-2"]
    if virus:
        record_event(
            session,
            EventType.VIRUS_CHECK,
            _OUTCOMES[report.outcome_of("4-2") or "pass"],
            object_type="sip",
            object_id=sip.id,
            agency_id=sip.agency_id,
            detail="; ".join(c.detail for c in virus)[:4000],
            agent="clamd",
        )
    failed, warned = report.failures, report.warnings
    record_event(
        session,
        EventType.VALIDATION,
        Outcome.FAILURE if failed else Outcome.WARNING if warned else Outcome.SUCCESS,
        object_type="sip",
        object_id=sip.id,
        agency_id=sip.agency_id,
        detail=f"four-property checks: {len(report.checks)} items, {len(failed)} failed, "
        f"{len(warned)} warnings",
    )


_OUTCOMES = {"pass": Outcome.SUCCESS, "warn": Outcome.WARNING, "fail": Outcome.FAILURE}


def _package(
    rt: Runtime,
    session: Session,
    sip: Sip,
    files: list[StagedFile],
    identifications: list[Identification],
    report: Report,
    validations: list[Validation],
) -> None:
    aip_id = new_id()
    packaged_at = utcnow()
    staging = rt.settings.staging_dir
    metadata = dict(sip.record_metadata)
    registry = identifications[0].registry if identifications else ""
    key = rt.signing_key
    receipt = receipts.signed(
        receipts.build(
            sip_id=sip.id,
            aip_id=aip_id,
            agency=sip.agency.name,
            received_at=sip.received_at,
            accepted_at=utcnow(),
            metadata=metadata,
            files=sip.manifest,
            checks=report.to_list(),
            registry=registry,
        ),
        key,
    )
    session.flush()
    events_rows = list(events_for(session, "sip", sip.id))
    events = [event_to_dict(e) for e in events_rows]
    root = bag_dir(staging, sip.id)
    payload = [
        bagit.PayloadEntry(f.path, f.size, {"sha256": f.sha256, "sha512": f.sha512}) for f in files
    ]
    sm2_key = guomi_signer(rt.profile(sip.storage_profile), rt.keyring)
    built = bagit.write_bag(
        root,
        payload,
        _bag_info(sip, aip_id, metadata),
        {
            "record.json": _record_document(sip, aip_id, metadata, packaged_at),
            "formats.json": [i.to_dict() for i in identifications],
            "events.json": events,
            "checks.json": {
                "sip_id": sip.id,
                "checks": report.to_list(),
                "validation": [v.to_dict() for v in validations],
            },
            "receipt.json": receipt,
            "premis.xml": _premis_document(sip, aip_id, files, identifications, events_rows),
            **_sender_files(sender_dir(staging, sip.id)),
        },
        sign=tagmanifest_signer(key, bagit.TAGMANIFEST),
        extra_tags=guomi_tag_files(root, payload, sm2_key) if sm2_key else None,
    )
    aip = _create_aip(session, sip, aip_id, files, identifications, built, packaged_at, key.key_id)
    sip.state = SipState.VALIDATED
    sip.aip_id = aip.id
    sip.check_report = report.to_list()
    sip.receipt = receipt
    record_event(
        session,
        EventType.DIGITAL_SIGNATURE_GENERATION,
        Outcome.SUCCESS,
        object_type="aip",
        object_id=aip.id,
        agency_id=sip.agency_id,
        detail=f"tag manifest and receipt signed with key {key.key_id}",
    )
    enqueue(session, "storage.store", {"aip_id": aip.id}, dedupe_key=f"store:{aip.id}")


def _sender_files(folder: Path) -> dict[str, bytes]:
    """The sender's own tag files (a bag's bagit.txt, bag-info.txt, manifests) and the metadata
    as sent, kept byte for byte under the AIP's ``metadata/sip/``."""
    if not folder.is_dir():
        return {}
    return {
        f"sip/{p.relative_to(folder).as_posix()}": p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _create_aip(
    session: Session,
    sip: Sip,
    aip_id: str,
    files: list[StagedFile],
    identifications: list[Identification],
    built: bagit.BuiltBag,
    created_at: datetime,
    key_id: str,
) -> Aip:
    """The AIP row and its file rows, the files in one bulk insert."""
    aip = Aip(
        id=aip_id,
        created_at=created_at,
        sip_id=sip.id,
        agency_id=sip.agency_id,
        storage_profile=sip.storage_profile,
        title=sip.record_metadata["title"],
        archival_code=sip.record_metadata["archival_code"],
        record_metadata=sip.record_metadata,
        file_count=len(files),
        total_bytes=sum(f.size for f in files),
        signing_key_id=key_id,
        tagmanifest_sha256=built.tagmanifest_sha256,
    )
    session.add(aip)
    session.flush()
    by_path = {i.path: i for i in identifications}
    rows = [
        {
            "aip_id": aip_id,
            "path": f.path,
            "size": f.size,
            "sha256": f.sha256,
            "sha512": f.sha512,
            "puid": by_path[f.path].puid if f.path in by_path else None,
            "format_name": by_path[f.path].format_name if f.path in by_path else None,
            "format_method": by_path[f.path].method if f.path in by_path else None,
        }
        for f in files
    ]
    if rows:
        session.execute(File.__table__.insert(), rows)
    session.expire(aip, ["files"])
    return aip


def _premis_document(
    sip: Sip,
    aip_id: str,
    files: list[StagedFile],
    identifications: list[Identification],
    events: list[Event],
) -> bytes:
    """PREMIS 3 XML for the AIP as packaged, from a transient (never added) AIP object."""
    by_path = {i.path: i for i in identifications}
    aip = Aip(
        id=aip_id,
        title=sip.record_metadata["title"],
        archival_code=sip.record_metadata["archival_code"],
        record_metadata=sip.record_metadata,
        files=[
            File(
                path=f.path,
                size=f.size,
                sha256=f.sha256,
                sha512=f.sha512,
                puid=by_path[f.path].puid if f.path in by_path else None,
                format_name=by_path[f.path].format_name if f.path in by_path else None,
                format_method=by_path[f.path].method if f.path in by_path else None,
            )
            for f in files
        ],
        replicas=[],
    )
    return aip_premis(aip, events, sip.agency.name)


def _bag_info(sip: Sip, aip_id: str, metadata: dict[str, Any]) -> dict[str, str]:
    return {
        "Source-Organization": sip.agency.name,
        "External-Identifier": metadata["archival_code"],
        "External-Description": metadata["title"],
        "Internal-Sender-Identifier": sip.id,
        "Bag-Group-Identifier": aip_id,
        "Bagging-Date": utcnow().date().isoformat(),
        "Received-At": sip.received_at.isoformat(),
    }


def _record_document(
    sip: Sip, aip_id: str, metadata: dict[str, Any], packaged_at: datetime
) -> dict[str, Any]:
    return {
        "aip_id": aip_id,
        "aip_created_at": packaged_at.isoformat(),
        "sip_id": sip.id,
        "agency": sip.agency.name,
        "storage_profile": sip.storage_profile,
        "received_at": sip.received_at.isoformat(),
        "source": sip.source,
        "metadata": metadata,
    }
