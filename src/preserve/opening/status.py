"""Changes of access status outside a review: declassification (by the security officer) and
withdrawal of an open record, which leaves the public face in the same transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from preserve.catalog.models import Aip
from preserve.catalog.opening_tables import AccessStatus
from preserve.catalog.types import utcnow
from preserve.errors import Conflict, InvalidInput
from preserve.opening import metadata, repository
from preserve.opening.events import OpeningEvent, on_record
from preserve.opening.review import Actor


def _aip(session: Session, aip_id: str) -> Aip:
    return repository.get_aip(session, aip_id)


def declassify(session: Session, aip_id: str, reason: str, actor: Actor) -> None:
    """Record the decision that a classified record is no longer secret (解密)."""
    if not reason.strip():
        raise InvalidInput("a declassification needs a reason")
    aip = _aip(session, aip_id)
    if not metadata.is_classified(aip.record_metadata):
        raise Conflict(f"AIP {aip_id} carries no secrecy classification")
    row = repository.access_row(session, aip_id)
    if row.declassified_at is not None:
        raise Conflict(f"AIP {aip_id} was declassified already")
    row.declassified_at = row.updated_at = utcnow()
    row.declassification_reason = reason
    was = metadata.classification(aip.record_metadata)
    detail = f"declassified (解密), was {was}: {reason}"
    on_record(session, aip, OpeningEvent.POLICY_ASSIGNMENT, detail, actor.name)
    session.flush()


def withdraw(session: Session, aip_id: str, reason: str, actor: Actor) -> None:
    """Take an open record off the public face at once; it becomes controlled again."""
    if not reason.strip():
        raise InvalidInput("a withdrawal needs a reason")
    aip = _aip(session, aip_id)
    row = repository.access_row(session, aip_id)
    if row.status is not AccessStatus.OPEN:
        raise Conflict(f"AIP {aip_id} is {row.status.value}, not open")
    row.status, row.until, row.reason, row.updated_at = (
        AccessStatus.CONTROLLED,
        None,
        reason,
        utcnow(),
    )
    repository.unpublish(session, aip_id)
    detail = f"withdrawn from the public (撤回开放), approved by {actor.name}: {reason}"
    on_record(session, aip, OpeningEvent.POLICY_ASSIGNMENT, detail, actor.name)
    session.flush()
