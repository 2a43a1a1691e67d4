"""The SQL of opening review and publication."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from preserve.catalog.models import Aip
from preserve.catalog.opening_tables import (
    AccessStatus,
    Opening,
    OpeningDecision,
    OpeningState,
    PublicRecord,
    PublicText,
    PublishedCatalogue,
    RecordAccess,
)
from preserve.errors import NotFound

PENDING = (OpeningState.PROPOSED, OpeningState.REVIEWED)
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_id(value: str) -> bool:
    """Ids are UUIDs; anything else (a NUL byte PostgreSQL would refuse) names nothing."""
    return bool(_ID.match(value))


def get_aip(session: Session, aip_id: str) -> Aip:
    aip = session.get(Aip, aip_id) if is_id(aip_id) else None
    if aip is None:
        raise NotFound(f"no AIP {aip_id}")
    return aip


def aips_by_id(session: Session, aip_ids: Sequence[str]) -> dict[str, Aip]:
    rows = session.scalars(select(Aip).where(Aip.id.in_(list(aip_ids))))
    return {a.id: a for a in rows}


def access_of(session: Session, aip_ids: Sequence[str]) -> dict[str, RecordAccess]:
    rows = session.scalars(select(RecordAccess).where(RecordAccess.aip_id.in_(list(aip_ids))))
    return {r.aip_id: r for r in rows}


def access_row(session: Session, aip_id: str) -> RecordAccess:
    """The record's access row, made (controlled) if it has none yet."""
    row = session.get(RecordAccess, aip_id)
    if row is None:
        row = RecordAccess(aip_id=aip_id, status=AccessStatus.CONTROLLED, reason="")
        session.add(row)
    return row


def pending_for(session: Session, aip_ids: Sequence[str]) -> dict[str, str]:
    """aip id -> the id of a pending opening that already names it."""
    stmt = (
        select(OpeningDecision.aip_id, Opening.id)
        .join(Opening, Opening.id == OpeningDecision.opening_id)
        .where(OpeningDecision.aip_id.in_(list(aip_ids)), Opening.state.in_(PENDING))
    )
    return {aip_id: opening_id for aip_id, opening_id in session.execute(stmt)}


def get_opening(session: Session, opening_id: str, *, lock: bool = False) -> Opening:
    if not is_id(opening_id):
        raise NotFound(f"no opening {opening_id}")
    stmt = select(Opening).where(Opening.id == opening_id)
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound(f"no opening {opening_id}")
    return found


def decisions_of(session: Session, opening_id: str) -> list[OpeningDecision]:
    stmt = (
        select(OpeningDecision)
        .where(OpeningDecision.opening_id == opening_id)
        .order_by(OpeningDecision.id)
    )
    return list(session.scalars(stmt))


def due_candidates(session: Session, formed_before: date, as_of: date, limit: int) -> list[Aip]:
    """Controlled records (no access row, or controlled with no date or a date passed) whose
    formation date is on or before ``formed_before``, oldest first, not in a pending opening."""
    formed = func.coalesce(Aip.record_date, Aip.year + "-12-31")
    pending = (
        select(OpeningDecision.aip_id)
        .join(Opening, Opening.id == OpeningDecision.opening_id)
        .where(Opening.state.in_(PENDING))
    )
    stmt = (
        select(Aip)
        .outerjoin(RecordAccess, RecordAccess.aip_id == Aip.id)
        .where(
            formed <= formed_before.isoformat(),
            or_(
                RecordAccess.aip_id.is_(None),
                (RecordAccess.status == AccessStatus.CONTROLLED)
                & (RecordAccess.until.is_(None) | (RecordAccess.until <= as_of)),
            ),
            Aip.id.not_in(pending),
        )
        .order_by(formed, Aip.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def public_record(session: Session, aip_id: str) -> PublicRecord | None:
    return session.get(PublicRecord, aip_id)


def unpublish(session: Session, aip_id: str) -> bool:
    """Remove a record from the public face; True when it was there."""
    session.execute(delete(PublicText).where(PublicText.aip_id == aip_id))
    gone = session.execute(delete(PublicRecord).where(PublicRecord.id == aip_id))
    return bool(gone.rowcount)


def texts_of(session: Session, aip_id: str) -> list[PublicText]:
    stmt = select(PublicText).where(PublicText.aip_id == aip_id).order_by(PublicText.path)
    return list(session.scalars(stmt))


def opened_between(session: Session, start: datetime, end: datetime) -> list[PublicRecord]:
    stmt = (
        select(PublicRecord)
        .where(PublicRecord.opened_at >= start, PublicRecord.opened_at < end)
        .order_by(PublicRecord.opened_at, PublicRecord.id)
    )
    return list(session.scalars(stmt))


def catalogues(session: Session, limit: int = 100) -> list[PublishedCatalogue]:
    stmt = (
        select(PublishedCatalogue)
        .order_by(PublishedCatalogue.created_at.desc(), PublishedCatalogue.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def catalogue(session: Session, catalogue_id: str) -> PublishedCatalogue | None:
    return session.get(PublishedCatalogue, catalogue_id)


def catalogues_naming(session: Session, aip_id: str) -> list[PublishedCatalogue]:
    """Issues whose document names ``aip_id`` (an id is a UUID: no false match in practice;
    the caller drops only entries whose id is exactly it)."""
    stmt = select(PublishedCatalogue).where(PublishedCatalogue.document.contains(aip_id))
    return list(session.scalars(stmt))


def list_openings(session: Session, limit: int = 200) -> list[Opening]:
    """The latest openings first (the console's list)."""
    stmt = select(Opening).order_by(Opening.created_at.desc(), Opening.id).limit(limit)
    return list(session.scalars(stmt))
