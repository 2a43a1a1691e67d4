"""Ingest, the receiving stage: register a received SIP and queue its processing, or record its
rejection. The worker stage (check, identify, package) is :mod:`preserve.ingest.process`."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Agency, Sip, SipState
from preserve.catalog.queue import enqueue
from preserve.ingest.checks import Report, reasons
from preserve.ingest.intake import Intake
from preserve.ingest.staging import StagedFile

log = logging.getLogger(__name__)


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
    record_rejection(session, sip, report, f"agency:{agency.name}")
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


def record_rejection(session: Session, sip: Sip, report: Report, agent: str) -> None:
    """The rejection event of ``sip``, listing the failed checks."""
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
