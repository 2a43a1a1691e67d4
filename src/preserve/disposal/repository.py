"""The disposal package's SQL: due candidates, batches, decisions, holds, tombstones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from preserve.catalog.disposal_models import Appraisal, AppraisalDecision, Hold, Tombstone
from preserve.catalog.models import Agency, Aip
from preserve.errors import NotFound

OPEN_OUTCOMES = ("pending", "held", "destroying", "refused")


def retention_candidates(
    session: Session,
    *,
    agency: str | None = None,
    fonds: str | None = None,
    year: str | None = None,
    limit: int = 100_000,
) -> Sequence[Aip]:
    """AIPs with a fixed-term retention, filtered; the clock decides which are due."""
    stmt = select(Aip).where(Aip.retention.is_not(None), Aip.retention != "permanent")
    if agency is not None:
        stmt = stmt.join(Agency, Agency.id == Aip.agency_id).where(Agency.name == agency)
    if fonds is not None:
        stmt = stmt.where(Aip.fonds == fonds)
    if year is not None:
        stmt = stmt.where(Aip.year == year)
    return session.scalars(stmt.order_by(Aip.archival_code, Aip.id).limit(limit)).all()


def aips_by_id(session: Session, aip_ids: Sequence[str]) -> dict[str, Aip]:
    stmt = select(Aip).where(Aip.id.in_(list(aip_ids))).options(selectinload(Aip.files))
    return {aip.id: aip for aip in session.scalars(stmt)}


def open_decisions_for(
    session: Session, aip_ids: Sequence[str], proposed_since: datetime | None = None
) -> dict[str, str]:
    """AIP id → the batch that will still destroy it (pending in a proposed/approved batch;
    a proposal from before ``proposed_since`` has expired and counts no more)."""
    stmt = (
        select(AppraisalDecision.aip_id, AppraisalDecision.appraisal_id)
        .join(Appraisal)
        .where(
            AppraisalDecision.aip_id.in_(list(aip_ids)),
            AppraisalDecision.decision.in_(("destroy", "deaccession")),
            AppraisalDecision.outcome.in_(OPEN_OUTCOMES),
            Appraisal.state.in_(("proposed", "approved", "destroying", "done")),
        )
    )
    if proposed_since is not None:
        stmt = stmt.where(
            or_(Appraisal.state != "proposed", Appraisal.proposed_at >= proposed_since)
        )
    return {aip_id: batch for aip_id, batch in session.execute(stmt)}


def get_appraisal(session: Session, appraisal_id: str, *, lock: bool = False) -> Appraisal:
    if "\x00" in appraisal_id:  # PostgreSQL refuses NUL in text: such an id names nothing
        raise NotFound(f"no appraisal {appraisal_id!r}")
    stmt = (
        select(Appraisal)
        .where(Appraisal.id == appraisal_id)
        .options(selectinload(Appraisal.decisions))
    )
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"no appraisal {appraisal_id}")
    return found


def list_appraisals(session: Session, state: str | None = None) -> Sequence[Appraisal]:
    stmt = select(Appraisal).options(selectinload(Appraisal.decisions))
    if state is not None:
        stmt = stmt.where(Appraisal.state == state)
    return session.scalars(stmt.order_by(Appraisal.proposed_at.desc())).all()


def open_holds(session: Session) -> Sequence[Hold]:
    return session.scalars(select(Hold).where(Hold.released_at.is_(None))).all()


def holds_on(session: Session, aip: Aip) -> Sequence[Hold]:
    """Open holds on the record itself, its fonds or its agency."""
    scopes = [and_(Hold.scope == "record", Hold.value == aip.id)]
    if aip.fonds:
        scopes.append(and_(Hold.scope == "fonds", Hold.value == aip.fonds))
    scopes.append(and_(Hold.scope == "agency", Hold.value == aip.agency.name))
    stmt = select(Hold).where(Hold.released_at.is_(None), or_(*scopes))
    return session.scalars(stmt).all()


def get_hold(session: Session, hold_id: str) -> Hold:
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise NotFound(f"no hold {hold_id}")
    return hold


def get_tombstone(session: Session, aip_id: str, *, agency_id: int | None = None) -> Tombstone:
    stmt = select(Tombstone).where(Tombstone.aip_id == aip_id)
    if agency_id is not None:
        stmt = stmt.where(Tombstone.agency_id == agency_id)
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"no AIP {aip_id}")
    return found


def tombstones(session: Session, appraisal_id: str | None = None) -> Sequence[Tombstone]:
    stmt = select(Tombstone)
    if appraisal_id is not None:
        stmt = stmt.where(Tombstone.appraisal_id == appraisal_id)
    return session.scalars(stmt.order_by(Tombstone.destroyed_at, Tombstone.aip_id)).all()


def tombstone_ids(session: Session) -> set[str]:
    return set(session.scalars(select(Tombstone.aip_id)))


def agency_id_named(session: Session, name: str) -> int | None:
    return session.scalar(select(Agency.id).where(Agency.name == name))
