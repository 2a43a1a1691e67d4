"""Every query of the ingest package: SIPs, their agencies, AIP file rows, uploads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from preserve.catalog.models import Agency, Aip, File, Sip, SipState, Upload
from preserve.catalog.types import utcnow


def agency(session: Session, agency_id: int) -> Agency | None:
    return session.get(Agency, agency_id)


def sip_by_idempotency_key(session: Session, agency_id: int, key: str) -> Sip | None:
    return session.scalar(select(Sip).where(Sip.agency_id == agency_id, Sip.idempotency_key == key))


def received_sip(session: Session, sip_id: str) -> Sip | None:
    """The SIP if it still waits for the worker's checks (RECEIVED), else None."""
    sip = session.get(Sip, sip_id)
    return sip if sip is not None and sip.state == SipState.RECEIVED else None


def aip_with_archival_code(session: Session, agency_id: int, code: str) -> str | None:
    """The id of an AIP of this agency already held under ``code``, if any (another
    agency's holdings are never looked at: check 1-8 must not be a probe into them)."""
    stmt = select(Aip.id).where(Aip.agency_id == agency_id, Aip.archival_code == code)
    return session.scalars(stmt.limit(1)).first()


def insert_files(session: Session, rows: list[dict[str, Any]]) -> None:
    """An AIP's file rows in one bulk insert."""
    if rows:
        session.execute(File.__table__.insert(), rows)


def upload(session: Session, upload_id: str, agency_id: int | None = None) -> Upload | None:
    """``agency_id`` scopes the lookup in the query that finds the upload."""
    stmt = select(Upload).where(Upload.id == upload_id)
    if agency_id is not None:
        stmt = stmt.where(Upload.agency_id == agency_id)
    return session.scalar(stmt)


def advance_upload(session: Session, upload_id: str, old: int, new: int) -> bool:
    """Move an upload's offset from ``old`` to ``new``; False if another request moved it."""
    done = session.execute(
        update(Upload).where(Upload.id == upload_id, Upload.offset == old).values(offset=new)
    )
    return done.rowcount == 1


def expired_uploads(session: Session, agency_id: int) -> Sequence[Upload]:
    """An agency's uploads past their expiry that no SIP has taken."""
    stmt = select(Upload).where(
        Upload.agency_id == agency_id, Upload.sip_id.is_(None), Upload.expires_at < utcnow()
    )
    return session.scalars(stmt).all()
