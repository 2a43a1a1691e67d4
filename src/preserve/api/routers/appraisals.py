"""``/v1/appraisals`` and ``/v1/holds``: retention and disposal (preserve.disposal)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, require, runtime
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.catalog.models import Role
from preserve.disposal import appraisal as appraisals
from preserve.disposal import destruction_list as dlist
from preserve.disposal import holds as holds_service
from preserve.disposal import repository as repo
from preserve.disposal.clock import now_or
from preserve.disposal.due import due_csv, due_html, due_records
from preserve.disposal.tombstones import tombstone_to_dict
from preserve.runtime import Runtime

router = APIRouter(prefix="/v1/appraisals", tags=["appraisals"])
holds_router = APIRouter(prefix="/v1/holds", tags=["appraisals"])

_OFFICERS = require(Role.OFFICER, Role.APPRAISER)
_PROPOSERS = require(Role.OFFICER)
_APPROVERS = require(Role.APPRAISER)
_DOCS = {
    **PROBLEM_RESPONSES,
    200: {
        "description": "JSON, CSV or a printable HTML page",
        "content": {"text/csv": {}, "text/html": {}},
    },
}


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aip_id: str = Field(max_length=64)
    decision: str = Field(description="destroy, extend, permanent or deaccession")
    reason: str = Field(max_length=2000)
    retention: str | None = Field(None, description="The new period of an 'extend': '30y'.")


class AppraisalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decisions: list[DecisionIn] = Field(max_length=appraisals.MAX_DECISIONS)
    note: str = Field("", max_length=2000)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=2000)


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: str = Field(description="record, fonds or agency")
    value: str = Field(max_length=200, description="The AIP id, the fonds code or the agency")
    reason: str = Field(max_length=2000)


def _expiry(rt: Runtime) -> timedelta:
    return timedelta(days=rt.settings.appraisal_expiry_days)


def person(who: Principal) -> appraisals.Person:
    return appraisals.Person(
        f"{who.agency_name}/{who.role.value}#{who.token_id}", who.role.value, who.token_id
    )


@router.get("/due", operation_id="listDueRecords", responses=_DOCS)
def list_due(
    agency: str | None = Query(None, max_length=200),
    fonds: str | None = Query(None, max_length=100),
    year: str | None = Query(None, max_length=16),
    as_of: datetime | None = Query(None, description="Look at the clock as of this instant."),
    format: Format = Query(Format.JSON),
    _: Principal = Depends(_OFFICERS),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> Any:
    """Records whose retention has ended (到期), with any hold or open batch on them."""
    today = (now_or(as_of) if as_of else now_or(rt.settings.disposal_clock)).date()
    rows = due_records(
        session, today, start=rt.settings.retention_start, agency=agency, fonds=fonds, year=year
    )
    if format == Format.CSV:
        return Response(due_csv(rows), media_type="text/csv; charset=utf-8")
    if format == Format.HTML:
        return HTMLResponse(due_html(rows, today))
    return {"as_of": today.isoformat(), "records": [r.to_dict() for r in rows]}


@router.get("/destroyed", operation_id="listDestroyedRecords", responses=PROBLEM_RESPONSES)
def list_destroyed(
    _: Principal = Depends(_OFFICERS), session: Session = Depends(db)
) -> dict[str, Any]:
    """Every destroyed record's tombstone (kept for good)."""
    return {"records": [tombstone_to_dict(t) for t in repo.tombstones(session)]}


@router.post("", status_code=201, operation_id="proposeAppraisal", responses=PROBLEM_RESPONSES)
def propose(
    body: AppraisalIn,
    who: Principal = Depends(_PROPOSERS),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Open a batch of decisions; nothing changes until a second person approves it."""
    batch = appraisals.propose(
        session,
        [d.model_dump() for d in body.decisions],
        person(who),
        now_or(rt.settings.disposal_clock).date(),
        start=rt.settings.retention_start,
        note=body.note,
        expiry=_expiry(rt),
    )
    return appraisals.appraisal_to_dict(batch)


@router.get("", operation_id="listAppraisals", responses=PROBLEM_RESPONSES)
def list_all(
    state: str | None = Query(None, max_length=16),
    _: Principal = Depends(_OFFICERS),
    session: Session = Depends(db),
) -> dict[str, Any]:
    return {
        "appraisals": [
            appraisals.appraisal_to_dict(b) for b in repo.list_appraisals(session, state)
        ]
    }


@router.get("/{appraisal_id}", operation_id="getAppraisal", responses=PROBLEM_RESPONSES)
def read(
    appraisal_id: str,
    _: Principal = Depends(_OFFICERS),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """A batch; ``state``: proposed, approved, destroying, done, rejected, or expired."""
    return appraisals.appraisal_to_dict(repo.get_appraisal(session, appraisal_id), _expiry(rt))


@router.post(
    "/{appraisal_id}/approve", operation_id="approveAppraisal", responses=PROBLEM_RESPONSES
)
def approve(
    appraisal_id: str,
    who: Principal = Depends(_OFFICERS),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Approve (an appraiser or the admin, never the proposer): retention changes apply, and
    destruction starts for every record no hold covers."""
    batch = appraisals.approve(session, appraisal_id, person(who), rt.stores, expiry=_expiry(rt))
    return appraisals.appraisal_to_dict(batch)


@router.post("/{appraisal_id}/reject", operation_id="rejectAppraisal", responses=PROBLEM_RESPONSES)
def reject(
    appraisal_id: str,
    body: RejectIn | None = None,
    who: Principal = Depends(_OFFICERS),
    session: Session = Depends(db),
) -> dict[str, Any]:
    reason = body.reason if body else ""
    return appraisals.appraisal_to_dict(
        appraisals.reject(session, appraisal_id, person(who), reason)
    )


@router.get("/{appraisal_id}/destruction-list", operation_id="getDestructionList", responses=_DOCS)
def destruction_list(
    appraisal_id: str,
    format: Format = Query(Format.JSON, description="json (signed), csv or html"),
    _: Principal = Depends(_OFFICERS),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> Any:
    """The batch's destruction list (销毁清册); the JSON is signed (``preserve report verify``)."""
    report = dlist.destruction_list(session, appraisal_id)
    if format == Format.CSV:
        return Response(dlist.to_csv(report), media_type="text/csv; charset=utf-8")
    key = rt.signing_key
    if format == Format.HTML:
        return HTMLResponse(dlist.to_html(report, key.key_id))
    return JSONResponse(dlist.signed(key, report))


@holds_router.post("", status_code=201, operation_id="placeHold", responses=PROBLEM_RESPONSES)
def place_hold(
    body: HoldIn, who: Principal = Depends(_OFFICERS), session: Session = Depends(db)
) -> dict[str, Any]:
    """A hold on a record, a fonds or an agency: nothing it covers is destroyed until released."""
    hold = holds_service.place_hold(session, body.scope, body.value, body.reason, person(who).name)
    return holds_service.hold_to_dict(hold)


@holds_router.get("", operation_id="listHolds", responses=PROBLEM_RESPONSES)
def list_holds(_: Principal = Depends(_OFFICERS), session: Session = Depends(db)) -> dict[str, Any]:
    return {"holds": [holds_service.hold_to_dict(h) for h in repo.open_holds(session)]}


@holds_router.delete("/{hold_id}", operation_id="releaseHold", responses=PROBLEM_RESPONSES)
def release_hold(
    hold_id: str, who: Principal = Depends(_OFFICERS), session: Session = Depends(db)
) -> dict[str, Any]:
    hold = holds_service.release_hold(session, hold_id, person(who).name)
    return holds_service.hold_to_dict(hold)
