"""Recording PREMIS-style events (eventType values follow id.loc.gov's vocabulary labels)."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.chain import track
from preserve.catalog.models import Event, new_id
from preserve.catalog.types import utcnow

AGENT = "preserve"


class EventType(enum.StrEnum):
    INGESTION = "ingestion"
    MESSAGE_DIGEST_CALCULATION = "message digest calculation"
    FORMAT_IDENTIFICATION = "format identification"
    VALIDATION = "validation"
    DIGITAL_SIGNATURE_GENERATION = "digital signature generation"
    REPLICATION = "replication"
    FIXITY_CHECK = "fixity check"
    REPAIR = "repair"
    RECOVERY = "recovery"
    REJECTION = "rejection"
    VIRUS_CHECK = "virus check"
    ACCESS = "access"
    TOKEN_ISSUED = "token issued"
    # Administrative actions (三员分立: each is evidence in the hash chain).
    TOKEN_REVOKED = "token revoked"
    KEY_ROTATION = "key rotation"
    KEY_REVOCATION = "key revocation"
    KEY_EXPORT = "key export"
    PROFILE_OVERRIDE = "storage profile override"
    LOG_VERIFICATION = "log verification"
    # Disposal (preserve.disposal): appraisal decisions, retention changes, holds, destruction.
    APPRAISAL = "appraisal"
    POLICY_ASSIGNMENT = "policy assignment"
    DELETION = "deletion"
    DEACCESSION = "deaccession"
    HOLD = "hold"
    HOLD_RELEASE = "hold release"


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    WARNING = "warning"


def record_event(
    session: Session,
    type: EventType,
    outcome: Outcome,
    *,
    object_type: str,
    object_id: str,
    detail: str = "",
    agent: str = AGENT,
    agency_id: int | None = None,
    target: str | None = None,
) -> Event:
    """Add an event; it joins the hash chain (preserve.catalog.chain) when ``session`` commits."""
    event = new_event(
        type,
        outcome,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        agent=agent,
        agency_id=agency_id,
        target=target,
    )
    add_event(session, event)
    return event


def new_event(
    type: EventType,
    outcome: Outcome,
    *,
    object_type: str,
    object_id: str,
    detail: str = "",
    agent: str = AGENT,
    agency_id: int | None = None,
    target: str | None = None,
) -> Event:
    """An event not yet in any session: work done without a transaction describes itself with
    these, and :func:`add_event` records them with its outcome."""
    return Event(
        uuid=new_id(),
        type=type.value,
        outcome=outcome.value,
        detail=detail,
        agent=agent,
        object_type=object_type,
        object_id=object_id,
        agency_id=agency_id,
        target=target,
        created_at=utcnow(),
    )


def add_event(session: Session, event: Event) -> None:
    session.add(event)
    track(session, event)


def event_to_dict(event: Event) -> dict[str, Any]:
    return {
        "id": event.uuid,
        "type": event.type,
        "outcome": event.outcome,
        "detail": event.detail,
        "agent": event.agent,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "target": event.target,
        "time": event.created_at.isoformat(),
    }
