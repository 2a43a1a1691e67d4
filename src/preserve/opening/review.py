"""The two-step opening review: an officer proposes, the security officer's confidentiality
review (保密审查) must pass, then a second person approves; only then does anything open.

Services flush, never commit; the edge (router, CLI) owns the transaction and passes an
:class:`Actor` (who acts, by token) so that the proposer can never approve their own opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.events import Outcome
from preserve.catalog.opening_tables import (
    AccessStatus,
    Opening,
    OpeningDecision,
    OpeningState,
)
from preserve.catalog.queue import enqueue
from preserve.catalog.types import utcnow
from preserve.errors import Conflict, Forbidden, InvalidInput, NotFound
from preserve.opening import metadata, publication, repository
from preserve.opening.events import OpeningEvent, on_record

MAX_DECISIONS = 1000
FULLTEXT_JOB = "opening.fulltext"


@dataclass(frozen=True)
class Actor:
    token_id: int
    name: str  # recorded as the event's agent: role, agency and token


@dataclass(frozen=True)
class Decision:
    aip_id: str
    decision: AccessStatus
    reason: str
    until: date | None = None


@dataclass(frozen=True)
class Approved:
    opening: Opening
    opened: list[str]  # aip ids now on the public face (their full-text jobs to enqueue)


def propose(session: Session, decisions: list[Decision], actor: Actor) -> Opening:
    """Record an officer's proposal; a classified record proposed for opening without a
    recorded declassification is refused, and so is a record already under review."""
    _check_shape(decisions)
    ids = [d.aip_id for d in decisions]
    aips = repository.aips_by_id(session, [i for i in ids if repository.is_id(i)])
    missing = [i for i in ids if i not in aips]
    if missing:
        raise NotFound(f"no AIP {missing[0]}")
    pending = repository.pending_for(session, ids)
    if pending:
        aip_id, opening_id = next(iter(pending.items()))
        raise Conflict(f"AIP {aip_id} is already under review in opening {opening_id}")
    _check_classified(session, decisions, aips)
    opening = Opening(state=OpeningState.PROPOSED, proposer_token_id=actor.token_id)
    opening.proposer = actor.name
    session.add(opening)
    session.flush()
    for d in decisions:
        session.add(
            OpeningDecision(
                opening_id=opening.id,
                aip_id=d.aip_id,
                decision=d.decision,
                reason=d.reason,
                until=d.until,
            )
        )
        until = f" until {d.until.isoformat()}" if d.until else ""
        detail = f"opening {opening.id}: proposed {d.decision.value}{until}: {d.reason}"
        on_record(session, aips[d.aip_id], OpeningEvent.APPRAISAL, detail, actor.name)
    session.flush()
    return opening


def _check_shape(decisions: list[Decision]) -> None:
    if not decisions:
        raise InvalidInput("decisions must name at least one record")
    if len(decisions) > MAX_DECISIONS:
        raise InvalidInput(f"at most {MAX_DECISIONS} decisions in one opening")
    ids = [d.aip_id for d in decisions]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a record appears twice in the decisions")
    for d in decisions:
        if not d.reason.strip():
            raise InvalidInput(f"decision for {d.aip_id} needs a reason")
        if d.until is not None and d.decision is AccessStatus.OPEN:
            raise InvalidInput("until applies to controlled or restricted, not open")


def _check_classified(session: Session, decisions: list[Decision], aips: dict[str, Any]) -> None:
    access = repository.access_of(session, [d.aip_id for d in decisions])
    for d in decisions:
        if d.decision is not AccessStatus.OPEN:
            continue
        row = access.get(d.aip_id)
        doc = aips[d.aip_id].record_metadata
        if metadata.is_classified(doc) and (row is None or row.declassified_at is None):
            raise Conflict(
                f"AIP {d.aip_id} is classified ({metadata.classification(doc)}); "
                "it cannot be opened before a declassification decision is recorded"
            )


def review(session: Session, opening_id: str, passed: bool, reason: str, actor: Actor) -> Opening:
    """The security officer's confidentiality review (保密审查) of a proposed opening."""
    if not reason.strip():
        raise InvalidInput("a review needs a reason")
    opening = repository.get_opening(session, opening_id, lock=True)
    if opening.state is not OpeningState.PROPOSED:
        raise Conflict(f"opening {opening_id} is {opening.state.value}, not waiting for review")
    opening.state = OpeningState.REVIEWED if passed else OpeningState.REVIEW_FAILED
    opening.reviewer_token_id = actor.token_id
    opening.reviewer = actor.name
    opening.review_reason = reason
    opening.reviewed_at = utcnow()
    aips = _aips_of(session, opening_id)
    verdict = "passed" if passed else "failed"
    outcome = Outcome.SUCCESS if passed else Outcome.FAILURE
    for aip in aips:
        detail = f"opening {opening_id}: confidentiality review (保密审查) {verdict}: {reason}"
        on_record(session, aip, OpeningEvent.APPRAISAL, detail, actor.name, outcome)
    session.flush()
    return opening


def approve(session: Session, opening_id: str, actor: Actor, public_fields: list[str]) -> Approved:
    """A second person's approval: the decisions take effect and open records go public."""
    opening = repository.get_opening(session, opening_id, lock=True)
    if actor.token_id == opening.proposer_token_id:
        raise Forbidden("the proposer of an opening may not approve it; a second person must")
    if opening.state is OpeningState.PROPOSED:
        raise Conflict(f"opening {opening_id} waits for its confidentiality review (保密审查)")
    if opening.state is OpeningState.REVIEW_FAILED:
        raise Conflict(f"opening {opening_id} failed its confidentiality review (保密审查)")
    if opening.state is not OpeningState.REVIEWED:
        raise Conflict(f"opening {opening_id} is already {opening.state.value}")
    decisions = repository.decisions_of(session, opening_id)
    aips = repository.aips_by_id(session, [d.aip_id for d in decisions])
    plain = [Decision(d.aip_id, d.decision, d.reason, d.until) for d in decisions]
    _check_classified(session, plain, aips)
    opened: list[str] = []
    for d in decisions:
        aip = aips[d.aip_id]
        row = repository.access_row(session, aip.id)
        row.status, row.until, row.reason = d.decision, d.until, d.reason
        row.opening_id, row.updated_at = opening_id, utcnow()
        if d.decision is AccessStatus.OPEN:
            publication.publish(session, aip, public_fields)
            enqueue(
                session, FULLTEXT_JOB, {"aip_id": aip.id}, dedupe_key=f"{FULLTEXT_JOB}:{aip.id}"
            )
            opened.append(aip.id)
        else:
            repository.unpublish(session, aip.id)
        until = f" until {d.until.isoformat()}" if d.until else ""
        detail = f"opening {opening_id} approved: access status {d.decision.value}{until}"
        on_record(session, aip, OpeningEvent.POLICY_ASSIGNMENT, detail, actor.name)
    opening.state = OpeningState.APPROVED
    opening.approver_token_id = actor.token_id
    opening.approver = actor.name
    opening.approved_at = utcnow()
    session.flush()
    return Approved(opening, opened)


def _aips_of(session: Session, opening_id: str) -> list[Any]:
    ids = [d.aip_id for d in repository.decisions_of(session, opening_id)]
    found = repository.aips_by_id(session, ids)
    return [found[i] for i in ids if i in found]
