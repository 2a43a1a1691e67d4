"""Holds (legal or administrative, 冻结): a hold on a record, a fonds or an agency blocks the
destruction of what it covers until released. Placing and releasing are events in the chain."""

from __future__ import annotations

from sqlalchemy.orm import Session

from preserve.catalog.disposal_models import Hold
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.types import utcnow
from preserve.disposal import repository as repo
from preserve.errors import Conflict, InvalidInput, NotFound

SCOPES = ("record", "fonds", "agency")


def place_hold(session: Session, scope: str, value: str, reason: str, by: str) -> Hold:
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}")
    value, reason = value.strip(), reason.strip()
    if not value or len(value) > 200:
        raise InvalidInput("value must name a record, a fonds or an agency (1..200 characters)")
    if not reason:
        raise InvalidInput("a hold needs a reason")
    if scope == "record" and not repo.aips_by_id(session, [value]):
        raise NotFound(f"no AIP {value}")
    if scope == "agency" and repo.agency_id_named(session, value) is None:
        raise NotFound(f"no agency {value!r}")
    hold = Hold(scope=scope, value=value, reason=reason, placed_by=by, placed_at=utcnow())
    session.add(hold)
    session.flush()
    record_event(
        session,
        EventType.HOLD,
        Outcome.SUCCESS,
        object_type=_object_type(scope),
        object_id=value[:64],
        detail=f"hold {hold.id} placed by {by}: {reason}",
        agent=by,
    )
    return hold


def release_hold(session: Session, hold_id: str, by: str) -> Hold:
    hold = repo.get_hold(session, hold_id)
    if hold.released_at is not None:
        raise Conflict(f"hold {hold_id} was released already")
    hold.released_at = utcnow()
    hold.released_by = by
    record_event(
        session,
        EventType.HOLD_RELEASE,
        Outcome.SUCCESS,
        object_type=_object_type(hold.scope),
        object_id=hold.value[:64],
        detail=f"hold {hold.id} released by {by}",
        agent=by,
    )
    return hold


def hold_to_dict(hold: Hold) -> dict:
    return {
        "id": hold.id,
        "scope": hold.scope,
        "value": hold.value,
        "reason": hold.reason,
        "placed_by": hold.placed_by,
        "placed_at": hold.placed_at.isoformat(),
        "released_by": hold.released_by,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
    }


def _object_type(scope: str) -> str:
    return "aip" if scope == "record" else scope
