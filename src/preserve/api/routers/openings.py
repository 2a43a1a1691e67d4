"""``/v1/openings``: opening review (开放审核) with the confidentiality review (保密审查), and
``/v1/aips/{id}/withdrawal`` and ``/declassification``. Staff only; the public face is
preserve.api.public."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, require, runtime
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.catalog.models import Role
from preserve.catalog.opening_tables import AccessStatus
from preserve.catalog.types import utcnow
from preserve.errors import Forbidden
from preserve.opening import catalogue, repository, review, status
from preserve.opening import due as due_mod
from preserve.runtime import Runtime

router = APIRouter(tags=["opening"])

_OFFICER = require(Role.OFFICER)
_STAFF = require(Role.OFFICER, Role.SECURITY)
_SECURITY = require(Role.SECURITY)
_TEXT = Field(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")  # no NUL: PostgreSQL refuses it


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aip_id: str = Field(min_length=1, max_length=36)
    decision: AccessStatus
    reason: str = _TEXT
    until: date | None = Field(None, description="Controlled or restricted until this date.")


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decisions: list[DecisionIn] = Field(min_length=1, max_length=review.MAX_DECISIONS)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["pass", "fail"]
    reason: str = _TEXT


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = _TEXT


class OpeningOut(BaseModel):
    id: str
    state: str


def actor(who: Principal) -> review.Actor:
    return review.Actor(who.token_id, f"api:{who.role.value}:{who.agency_name}#{who.token_id}")


def _periods(rt: Runtime) -> due_mod.Periods:
    s = rt.settings
    return due_mod.Periods(s.opening_period_years, s.opening_period_years_by_category)


@router.post(
    "/v1/openings",
    operation_id="proposeOpening",
    status_code=201,
    response_model=OpeningOut,
    responses=PROBLEM_RESPONSES,
    summary="Propose access decisions for records (an officer; step 1 of the review)",
)
def propose(
    body: ProposalIn, who: Principal = Depends(_OFFICER), session: Session = Depends(db)
) -> OpeningOut:
    decisions = [review.Decision(d.aip_id, d.decision, d.reason, d.until) for d in body.decisions]
    opening = review.propose(session, decisions, actor(who))
    return OpeningOut(id=opening.id, state=opening.state.value)


@router.get(
    "/v1/openings/due",
    operation_id="listOpeningsDue",
    responses=PROBLEM_RESPONSES,
    summary="Records due for opening review (formation + the period of their category)",
)
def list_due(
    as_of: date | None = Query(None, description="The day to ask about; default today (UTC)."),
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(_STAFF),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    day = as_of or utcnow().date()
    return {"as_of": day.isoformat(), "items": due_mod.due(session, day, _periods(rt), limit)}


@router.get(
    "/v1/openings/{opening_id}",
    operation_id="readOpening",
    responses=PROBLEM_RESPONSES,
    summary="An opening, its decisions, and what the reviewer must see (advice, 密级)",
)
def read_opening(
    opening_id: str,
    _: Principal = Depends(_STAFF),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    opening = repository.get_opening(session, opening_id)
    decisions = repository.decisions_of(session, opening_id)
    aips = repository.aips_by_id(session, [d.aip_id for d in decisions])
    periods = _periods(rt)
    return {
        "id": opening.id,
        "state": opening.state.value,
        "proposer": opening.proposer,
        "reviewer": opening.reviewer,
        "review_reason": opening.review_reason,
        "approver": opening.approver,
        "decisions": [
            {
                "decision": d.decision.value,
                "reason": d.reason,
                "until": d.until.isoformat() if d.until else None,
                **due_mod.review_facts(aips[d.aip_id], periods),
            }
            for d in decisions
        ],
    }


@router.post(
    "/v1/openings/{opening_id}/review",
    operation_id="reviewOpening",
    response_model=OpeningOut,
    responses=PROBLEM_RESPONSES,
    summary="The confidentiality review (保密审查) by the security officer",
)
def review_opening(
    opening_id: str,
    body: ReviewIn,
    who: Principal = Depends(_SECURITY),
    session: Session = Depends(db),
) -> OpeningOut:
    if who.role is not Role.SECURITY:
        raise Forbidden("only the security officer (security role) reviews confidentiality")
    opening = review.review(session, opening_id, body.outcome == "pass", body.reason, actor(who))
    return OpeningOut(id=opening.id, state=opening.state.value)


@router.post(
    "/v1/openings/{opening_id}/approve",
    operation_id="approveOpening",
    response_model=OpeningOut,
    responses=PROBLEM_RESPONSES,
    summary="Approve a reviewed opening (a second person, never the proposer)",
)
def approve_opening(
    opening_id: str,
    who: Principal = Depends(_OFFICER),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> OpeningOut:
    done = review.approve(session, opening_id, actor(who), rt.settings.public_fields)
    return OpeningOut(id=done.opening.id, state=done.opening.state.value)


@router.post(
    "/v1/aips/{aip_id}/withdrawal",
    operation_id="withdrawAip",
    status_code=204,
    responses=PROBLEM_RESPONSES,
    summary="Withdraw an open record from the public at once",
)
def withdraw(
    aip_id: str,
    body: ReasonIn,
    who: Principal = Depends(_OFFICER),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> None:
    """The record leaves the public face in this transaction, and every published catalogue
    that listed it is re-signed without it."""
    done = actor(who)
    status.withdraw(session, aip_id, body.reason, done)
    catalogue.withdraw_from_catalogues(session, aip_id, rt.signing_key, done.name)


@router.post(
    "/v1/aips/{aip_id}/declassification",
    operation_id="declassifyAip",
    status_code=204,
    responses=PROBLEM_RESPONSES,
    summary="Record a declassification decision (解密) by the security officer",
)
def declassify(
    aip_id: str, body: ReasonIn, who: Principal = Depends(_SECURITY), session: Session = Depends(db)
) -> None:
    if who.role is not Role.SECURITY:
        raise Forbidden("only the security officer (security role) records declassification")
    status.declassify(session, aip_id, body.reason, actor(who))
