"""Appraisal batches: an officer proposes a decision per record (destroy, extend, make
permanent, or deaccession of a mistaken transfer); a second person with another role (an
``appraiser`` or the admin, never the proposer) approves or rejects the batch.

Nothing changes before approval. On approval a retention change is applied at once (a PREMIS
``policy assignment`` event); a destruction is planned (the targets to empty are written down,
the record's replicas leave the audit schedule) and a ``disposal.destroy`` job is enqueued in
the same transaction. A record under a hold is not planned: its decision is marked ``held``,
and approving the batch again once the hold is released destroys it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.disposal_models import Appraisal, AppraisalDecision
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, Role
from preserve.catalog.queue import enqueue
from preserve.catalog.types import utcnow
from preserve.disposal import repository as repo
from preserve.disposal.clock import PERMANENT, due_on, normalise
from preserve.errors import Conflict, Forbidden, InvalidInput, NotDue, PermanentRecord
from preserve.storage.stores import Stores

DESTROYING = ("destroy", "deaccession")
DECISIONS = (*DESTROYING, "extend", "permanent")
APPROVERS = (Role.APPRAISER.value, Role.ADMIN.value)
MAX_DECISIONS = 1000
DESTROY_JOB = "disposal.destroy"


@dataclass(frozen=True)
class Person:
    """Who acts: tokens are the people of this service (agency name, role, token id)."""

    name: str
    role: str
    token_id: int


def propose(
    session: Session,
    decisions: list[dict[str, Any]],
    who: Person,
    today: date,
    *,
    start: str = "next-year",
    note: str = "",
    expiry: timedelta = timedelta(days=90),
) -> Appraisal:
    checked = [_checked(d) for d in decisions]
    if not checked:
        raise InvalidInput("a batch needs at least one decision")
    if len(checked) > MAX_DECISIONS:
        raise InvalidInput(f"a batch holds at most {MAX_DECISIONS} decisions")
    ids = [d["aip_id"] for d in checked]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a record appears twice in the batch")
    aips = repo.aips_by_id(session, ids)
    unknown = [i for i in ids if i not in aips]
    if unknown:
        raise InvalidInput(f"no AIP {unknown[0]}")
    busy = repo.open_decisions_for(session, ids, proposed_since=utcnow() - expiry)
    batch = Appraisal(
        state="proposed",
        kind="deaccession" if any(d["decision"] == "deaccession" for d in checked) else "appraisal",
        note=note[:2000],
        proposer=who.name,
        proposer_token=who.token_id,
        proposer_role=who.role,
        proposed_at=utcnow(),
    )
    for d in checked:
        aip = aips[d["aip_id"]]
        if d["decision"] in DESTROYING:
            _may_destroy(aip, d["decision"], today, start, busy.get(aip.id))
        batch.decisions.append(
            AppraisalDecision(
                aip_id=aip.id,
                decision=d["decision"],
                reason=d["reason"],
                retention=d["retention"],
                outcome="pending",
                agency_id=aip.agency_id,
                archival_code=aip.archival_code,
                title=aip.title,
                old_retention=aip.retention,
                targets=[],
                deletions={},
            )
        )
    session.add(batch)
    session.flush()
    for d in batch.decisions:
        _event(session, d, who.name, Outcome.SUCCESS, f"proposed {d.decision}: {d.reason}", batch)
    return batch


def approve(
    session: Session,
    appraisal_id: str,
    who: Person,
    stores: Stores,
    *,
    expiry: timedelta = timedelta(days=90),
) -> Appraisal:
    batch = repo.get_appraisal(session, appraisal_id, lock=True)
    _second_person(batch, who)
    held_again = batch.state == "done" and any(d.outcome == "held" for d in batch.decisions)
    if batch.state != "proposed" and not held_again:
        raise Conflict(f"appraisal {batch.id} is {batch.state}; only a proposed batch is approved")
    if batch.state == "proposed" and expired(batch, expiry):
        raise Conflict(
            f"appraisal {batch.id} was proposed on {batch.proposed_at.date()} and expired "
            f"after {expiry.days} days undecided; it changes nothing: propose it again"
        )
    todo = [d for d in batch.decisions if d.outcome in ("pending", "held")]
    aips = repo.aips_by_id(session, [d.aip_id for d in todo])
    for d in todo:  # check everything before changing anything
        aip = aips.get(d.aip_id)
        if aip is not None and d.decision == "destroy" and aip.retention == PERMANENT:
            raise PermanentRecord(f"{aip.archival_code} is now kept permanently")
    destroying = False
    for d in todo:
        aip = aips.get(d.aip_id)
        if aip is None:
            d.outcome, d.problem = "refused", "the record is no longer in the catalogue"
            continue
        if d.decision in ("extend", "permanent"):
            _assign(session, d, aip, who, batch)
            continue
        holds = repo.holds_on(session, aip)
        if holds:
            d.outcome = "held"
            d.problem = "held: " + ", ".join(f"{h.scope} hold {h.id}" for h in holds)
            _event(session, d, who.name, Outcome.WARNING, d.problem, batch)
            continue
        _plan_destruction(session, d, aip, stores)
        _event(session, d, who.name, Outcome.SUCCESS, f"approved {d.decision}", batch)
        destroying = True
    batch.approver, batch.approver_token, batch.approver_role = who.name, who.token_id, who.role
    batch.decided_at = utcnow()
    if destroying:
        batch.state = "approved"
        enqueue(session, DESTROY_JOB, {"appraisal_id": batch.id}, dedupe_key=f"disposal:{batch.id}")
    else:
        batch.state, batch.finished_at = "done", utcnow()
    session.flush()
    return batch


def expired(batch: Appraisal, expiry: timedelta) -> bool:
    return batch.state == "proposed" and utcnow() - batch.proposed_at > expiry


def reject(session: Session, appraisal_id: str, who: Person, reason: str) -> Appraisal:
    batch = repo.get_appraisal(session, appraisal_id, lock=True)
    _second_person(batch, who)
    if batch.state != "proposed":
        raise Conflict(f"appraisal {batch.id} is {batch.state}; only a proposed batch is rejected")
    batch.state = "rejected"
    batch.approver, batch.approver_token, batch.approver_role = who.name, who.token_id, who.role
    batch.decided_at = batch.finished_at = utcnow()
    batch.rejection_reason = reason.strip()[:2000] or None
    for d in batch.decisions:
        _event(session, d, who.name, Outcome.FAILURE, f"rejected: {reason}", batch)
    return batch


def _checked(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput("each decision is an object")
    aip_id, decision, reason = raw.get("aip_id"), raw.get("decision"), raw.get("reason")
    if not isinstance(aip_id, str) or not 1 <= len(aip_id) <= 64 or "\x00" in aip_id:
        raise InvalidInput("each decision names an 'aip_id'")
    if decision not in DECISIONS:
        raise InvalidInput(f"'decision' must be one of {', '.join(DECISIONS)}")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000 or "\x00" in reason:
        raise InvalidInput("each decision needs a 'reason' (1..2000 characters)")
    retention = raw.get("retention")
    if decision == "extend":
        if not isinstance(retention, str):
            raise InvalidInput("an 'extend' decision gives the new 'retention' (e.g. '30y')")
        retention = normalise(retention)
        if retention == PERMANENT:
            raise InvalidInput("use the 'permanent' decision to keep a record permanently")
    elif decision == "permanent":
        retention = PERMANENT
    elif retention is not None:
        raise InvalidInput(f"a '{decision}' decision takes no 'retention'")
    return {
        "aip_id": aip_id,
        "decision": decision,
        "reason": reason.strip(),
        "retention": retention,
    }


def _may_destroy(aip: Aip, decision: str, today: date, start: str, busy: str | None) -> None:
    if decision == "destroy":
        if aip.retention == PERMANENT:
            raise PermanentRecord(
                f"{aip.archival_code} ({aip.id}) is kept permanently (保管期限 永久) and can "
                "never be destroyed"
            )
        ends = due_on(aip.retention, aip.record_date, aip.year, start)
        if ends is None or ends > today:
            when = ends.isoformat() if ends else "never (no fixed retention or no date)"
            raise NotDue(f"{aip.archival_code} ({aip.id}): retention ends {when}")
    if busy is not None:
        raise Conflict(f"{aip.archival_code} ({aip.id}) is already to be destroyed in {busy}")


def _second_person(batch: Appraisal, who: Person) -> None:
    if who.token_id == batch.proposer_token:
        raise Forbidden("the proposer of a batch may not approve or reject it")
    if who.role not in APPROVERS:
        raise Forbidden(f"role {who.role} may not approve; allowed: {', '.join(APPROVERS)}")
    if who.role == batch.proposer_role:
        raise Forbidden(f"the batch was proposed by a {who.role}: another role must decide")


def _assign(session: Session, d: AppraisalDecision, aip: Aip, who: Person, batch) -> None:
    before = aip.retention
    # The finding aids are derived from the metadata on every write: the catalogue's copy of
    # the metadata carries the new period (the AIP in the stores keeps what was sent).
    aip.record_metadata = {**aip.record_metadata, "retention": d.retention}
    aip.retention = d.retention
    d.outcome = "applied"
    record_event(
        session,
        EventType.POLICY_ASSIGNMENT,
        Outcome.SUCCESS,
        object_type="aip",
        object_id=aip.id,
        detail=f"retention {before} -> {d.retention} by appraisal {batch.id}: {d.reason}",
        agent=who.name,
        agency_id=aip.agency_id,
    )


def _plan_destruction(session: Session, d: AppraisalDecision, aip: Aip, stores: Stores) -> None:
    names = {t.name for t in stores.profile(aip.storage_profile).targets}
    names |= {r.target for r in aip.replicas}
    d.targets = sorted(names)
    d.outcome, d.problem = "destroying", None
    for replica in list(aip.replicas):  # no audit or repair may bring a copy back
        session.delete(replica)


def _event(
    session: Session, d: AppraisalDecision, agent: str, outcome: Outcome, detail: str, batch
) -> None:
    record_event(
        session,
        EventType.DEACCESSION if d.decision == "deaccession" else EventType.APPRAISAL,
        outcome,
        object_type="aip",
        object_id=d.aip_id,
        detail=f"appraisal {batch.id}: {detail}",
        agent=agent,
        agency_id=d.agency_id,
    )


def appraisal_to_dict(batch: Appraisal, expiry: timedelta | None = None) -> dict[str, Any]:
    return {
        "id": batch.id,
        "state": "expired" if expiry is not None and expired(batch, expiry) else batch.state,
        "kind": batch.kind,
        "note": batch.note,
        "proposer": {"name": batch.proposer, "role": batch.proposer_role},
        "proposed_at": batch.proposed_at.isoformat(),
        "approver": (
            {"name": batch.approver, "role": batch.approver_role} if batch.approver else None
        ),
        "decided_at": batch.decided_at.isoformat() if batch.decided_at else None,
        "rejection_reason": batch.rejection_reason,
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "decisions": [
            {
                "aip_id": d.aip_id,
                "archival_code": d.archival_code,
                "title": d.title,
                "decision": d.decision,
                "reason": d.reason,
                "retention": d.retention,
                "old_retention": d.old_retention,
                "outcome": d.outcome,
                "problem": d.problem,
                "targets": d.targets,
                "deletions": d.deletions,
            }
            for d in batch.decisions
        ],
    }
