"""Appraisal and disposal (鉴定与销毁, issue 15): the due list, the batches, a batch with its
decisions, Approve/Reject for a second person, and the destruction list.

The same services and roles as ``/v1/appraisals``: officers propose; an appraiser or the
admin who did not propose decides (``disposal.appraisal`` refuses anyone else, and the page
shows that refusal). Each handler owns its transaction, as the other console pages do.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from preserve.api.console.auth import Viewer, allow, checked_form, runtime_of
from preserve.api.console.nav import APPRAISAL
from preserve.api.console.render import page
from preserve.catalog.models import Role
from preserve.disposal import appraisal as appraisals
from preserve.disposal import destruction_list as dlist
from preserve.disposal import repository as repo
from preserve.disposal.clock import now_or
from preserve.disposal.due import due_records
from preserve.errors import InvalidInput, PreserveError
from preserve.runtime import Runtime

router = APIRouter(prefix="/console/appraisals", include_in_schema=False)
_STAFF = Depends(allow(*APPRAISAL))
_PROPOSER = Depends(allow(Role.OFFICER, Role.ADMIN))
_CHOICES = ("destroy", "extend", "permanent")
_MAX_TEXT = 2000


def _no_nul(form) -> None:
    """PostgreSQL refuses NUL in text: such a form is bad input, never a 500."""
    if any("\x00" in str(value) for _, value in form.multi_items()):
        raise InvalidInput("a form value holds a NUL character")


class ListFormat(StrEnum):
    HTML = "html"
    CSV = "csv"
    JSON = "json"


def _expiry(rt: Runtime) -> timedelta:
    return timedelta(days=rt.settings.appraisal_expiry_days)


def person(who: Viewer) -> appraisals.Person:
    """The same name the API records for this token (agency/role#token)."""
    return appraisals.Person(
        f"{who.agency_name}/{who.role.value}#{who.token_id}", who.role.value, who.token_id
    )


@router.get("")
def overview(request: Request, who: Viewer = _STAFF) -> Response:
    rt = runtime_of(request)
    today = now_or(rt.settings.disposal_clock).date()
    with rt.sessions.begin() as session:
        due = due_records(session, today, start=rt.settings.retention_start)
        batches = [
            appraisals.appraisal_to_dict(b, _expiry(rt)) for b in repo.list_appraisals(session)
        ]
    context = {
        "who": who,
        "today": today,
        "due": due,
        "batches": batches,
        "choices": _CHOICES,
        "may_propose": who.role in (Role.OFFICER, Role.ADMIN),
    }
    return page(request, "appraisals.html", context)


def _batch_page(request: Request, who: Viewer, batch_id: str, refusal: str = "", status=200):
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        batch = repo.get_appraisal(session, batch_id)
        proposer_token = batch.proposer_token
        shown = appraisals.appraisal_to_dict(batch, _expiry(rt))
    may_decide = who.role.value in appraisals.APPROVERS and who.token_id != proposer_token
    context = {"who": who, "batch": shown, "may_decide": may_decide, "refusal": refusal}
    return page(request, "appraisal.html", context, status=status)


@router.get("/{batch_id}")
def batch_page(request: Request, batch_id: str, who: Viewer = _STAFF) -> Response:
    return _batch_page(request, who, batch_id)


@router.post("")
def propose(request: Request, who: Viewer = _PROPOSER, form=Depends(checked_form)) -> Response:
    """A batch from the due list's checked records, one decision and one reason for all."""
    _no_nul(form)
    decision = str(form.get("decision") or "")
    reason = str(form.get("reason") or "")[:_MAX_TEXT]
    retention = str(form.get("retention") or "").strip() or None
    chosen = [str(v) for v in form.getlist("aip")][: appraisals.MAX_DECISIONS + 1]
    if decision not in _CHOICES:
        decision = "?"  # the service names the allowed decisions
    rows = [
        {
            "aip_id": aip_id,
            "decision": decision,
            "reason": reason,
            "retention": retention if decision == "extend" else None,
        }
        for aip_id in chosen
    ]
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        batch = appraisals.propose(
            session,
            rows,
            person(who),
            now_or(rt.settings.disposal_clock).date(),
            start=rt.settings.retention_start,
            note=str(form.get("note") or "")[:_MAX_TEXT],
            expiry=_expiry(rt),
        )
        batch_id = batch.id
    return RedirectResponse(f"/console/appraisals/{batch_id}", status_code=303)


@router.post("/{batch_id}/approve")
def approve(request: Request, batch_id: str, who: Viewer = _STAFF, _form=Depends(checked_form)):
    rt = runtime_of(request)
    try:
        with rt.sessions.begin() as session:
            appraisals.approve(session, batch_id, person(who), rt.stores, expiry=_expiry(rt))
    except PreserveError as refused:
        if refused.status >= 500:
            raise
        return _batch_page(request, who, batch_id, refused.detail, refused.status)
    return RedirectResponse(f"/console/appraisals/{batch_id}", status_code=303)


@router.post("/{batch_id}/reject")
def reject(request: Request, batch_id: str, who: Viewer = _STAFF, form=Depends(checked_form)):
    _no_nul(form)
    reason = str(form.get("reason") or "")[:_MAX_TEXT]
    rt = runtime_of(request)
    try:
        with rt.sessions.begin() as session:
            appraisals.reject(session, batch_id, person(who), reason)
    except PreserveError as refused:
        if refused.status >= 500:
            raise
        return _batch_page(request, who, batch_id, refused.detail, refused.status)
    return RedirectResponse(f"/console/appraisals/{batch_id}", status_code=303)


@router.get("/{batch_id}/destruction-list")
def destruction_list(
    request: Request,
    batch_id: str,
    format: ListFormat = Query(ListFormat.HTML),
    who: Viewer = _STAFF,
) -> Response:
    """The batch's destruction list (销毁清册), as the API gives it; the JSON is signed."""
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        report = dlist.destruction_list(session, batch_id)
    name = f"destruction-list-{batch_id}"
    if format == ListFormat.CSV:
        disposition = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
        return Response(
            dlist.to_csv(report), media_type="text/csv; charset=utf-8", headers=disposition
        )
    key = rt.signing_key
    if format == ListFormat.JSON:
        disposition = {"Content-Disposition": f'attachment; filename="{name}.json"'}
        return JSONResponse(dlist.signed(key, report), headers=disposition)
    return HTMLResponse(dlist.to_html(report, key.key_id), headers={"Cache-Control": "no-store"})
