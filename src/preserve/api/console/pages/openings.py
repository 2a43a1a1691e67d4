"""Opening review (开放审核, issue 16): the records due, the openings and their state, an
opening with the security officer's confidentiality review (保密审查) and a second person's
approval, and issuing the signed catalogue of a period (``preserve opening publish``).

The same services and roles as ``/v1/openings``: officers propose and approve (never their own
proposal), the security officer alone reviews; each handler owns its transaction.
"""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from preserve.api.console.auth import Viewer, allow, checked_form, runtime_of
from preserve.api.console.nav import OPENING
from preserve.api.console.render import page
from preserve.catalog.models import Role
from preserve.catalog.opening_tables import AccessStatus
from preserve.catalog.types import utcnow
from preserve.errors import InvalidInput, PreserveError
from preserve.opening import catalogue, repository, review
from preserve.opening import due as due_mod
from preserve.runtime import Runtime

router = APIRouter(prefix="/console/openings", include_in_schema=False)
_STAFF = Depends(allow(*OPENING))
_OFFICER = Depends(allow(Role.OFFICER, Role.ADMIN))
_SECURITY = Depends(allow(Role.SECURITY))
_MAX_TEXT = 4000


def actor(who: Viewer) -> review.Actor:
    return review.Actor(who.token_id, f"console:{who.role.value}:{who.agency_name}#{who.token_id}")


def _periods(rt: Runtime) -> due_mod.Periods:
    s = rt.settings
    return due_mod.Periods(s.opening_period_years, s.opening_period_years_by_category)


def _text(form, name: str) -> str:
    value = str(form.get(name) or "")
    if not value.strip() or len(value) > _MAX_TEXT or "\x00" in value:
        raise InvalidInput(f"'{name}' must be 1..{_MAX_TEXT} characters")
    return value


@router.get("")
def overview(request: Request, as_of: date | None = Query(None), who: Viewer = _STAFF) -> Response:
    rt = runtime_of(request)
    day = as_of or utcnow().date()
    with rt.sessions.begin() as session:
        due = due_mod.due(session, day, _periods(rt), 200)
        openings = [
            (o.id, o.state.value, o.proposer, o.created_at)
            for o in repository.list_openings(session)
        ]
    yesterday = utcnow().date() - timedelta(days=1)
    context = {
        "who": who,
        "today": day,
        "due": due,
        "openings": openings,
        "officer": who.role in (Role.OFFICER, Role.ADMIN),
        "statuses": [s.value for s in AccessStatus],
        "period": ((yesterday - timedelta(days=29)).isoformat(), yesterday.isoformat()),
    }
    return page(request, "openings.html", context)


def _opening_page(request: Request, who: Viewer, opening_id: str, refusal="", status=200):
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        opening = repository.get_opening(session, opening_id)
        decisions = repository.decisions_of(session, opening_id)
        aips = repository.aips_by_id(session, [d.aip_id for d in decisions])
        rows = [
            {
                "decision": d.decision.value,
                "reason": d.reason,
                "until": d.until,
                **due_mod.review_facts(aips[d.aip_id], _periods(rt)),
            }
            for d in decisions
            if d.aip_id in aips
        ]
        shown = {
            "id": opening.id,
            "state": opening.state.value,
            "proposer": opening.proposer,
            "reviewer": opening.reviewer,
            "review_reason": opening.review_reason,
            "approver": opening.approver,
            "mine": opening.proposer_token_id == who.token_id,
        }
    context = {"who": who, "opening": shown, "decisions": rows, "refusal": refusal}
    return page(request, "opening.html", context, status=status)


@router.get("/{opening_id}")
def opening_page(request: Request, opening_id: str, who: Viewer = _STAFF) -> Response:
    return _opening_page(request, who, opening_id)


@router.post("")
def propose(request: Request, who: Viewer = _OFFICER, form=Depends(checked_form)) -> Response:
    """An opening from the due list's checked records: one decision and one reason for all."""
    try:
        status = AccessStatus(str(form.get("decision") or ""))
    except ValueError:
        raise InvalidInput("the decision is open, controlled or restricted") from None
    reason = _text(form, "reason")
    chosen = [str(v)[:36] for v in form.getlist("aip")][: review.MAX_DECISIONS + 1]
    decisions = [review.Decision(aip_id, status, reason) for aip_id in chosen]
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        opening_id = review.propose(session, decisions, actor(who)).id
    return RedirectResponse(f"/console/openings/{opening_id}", status_code=303)


def _act(request: Request, who: Viewer, opening_id: str, step) -> Response:
    """Run one step in its own transaction; a refusal is shown on the opening's page."""
    rt = runtime_of(request)
    try:
        with rt.sessions.begin() as session:
            step(session, rt)
    except PreserveError as refused:
        if refused.status >= 500:
            raise
        return _opening_page(request, who, opening_id, refused.detail, refused.status)
    return RedirectResponse(f"/console/openings/{opening_id}", status_code=303)


@router.post("/{opening_id}/review")
def review_opening(
    request: Request, opening_id: str, who: Viewer = _SECURITY, form=Depends(checked_form)
) -> Response:
    outcome = str(form.get("outcome") or "")
    if outcome not in ("pass", "fail"):
        raise InvalidInput("the outcome is pass or fail")
    reason = _text(form, "reason")
    passed = outcome == "pass"
    return _act(
        request,
        who,
        opening_id,
        lambda session, rt: review.review(session, opening_id, passed, reason, actor(who)),
    )


@router.post("/{opening_id}/approve")
def approve_opening(
    request: Request, opening_id: str, who: Viewer = _OFFICER, _form=Depends(checked_form)
) -> Response:
    return _act(
        request,
        who,
        opening_id,
        lambda session, rt: review.approve(
            session, opening_id, actor(who), rt.settings.public_fields
        ),
    )


@router.post("/catalogue")
def publish(request: Request, who: Viewer = _OFFICER, form=Depends(checked_form)) -> Response:
    """Issue the signed catalogue of records opened in a period, as ``preserve opening publish``."""
    try:
        start = date.fromisoformat(str(form.get("from") or ""))
        end = date.fromisoformat(str(form.get("to") or ""))
    except ValueError:
        raise InvalidInput("the period is two days (YYYY-MM-DD)") from None
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        row = catalogue.publish(
            session, start, end, rt.signing_key, actor(who).name, rt.settings.public_fields
        )
        issued = (row.id, row.record_count, row.key_id, start, end)
    return page(request, "catalogue_issued.html", {"who": who, "issued": issued})
