"""``GET /v1/aips/{id}/premis``: the AIP's preservation metadata as PREMIS 3 XML."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, require
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.catalog.models import Role
from preserve.catalog.repository import events_for, get_aip
from preserve.trust.premis import aip_premis

router = APIRouter(prefix="/v1/aips", tags=["aips"])

_XML = {200: {"content": {"application/xml": {}}, "description": "PREMIS 3.0 XML"}}


@router.get(
    "/{aip_id}/premis",
    response_class=Response,
    responses={**_XML, **PROBLEM_RESPONSES},
    summary="The AIP's objects, events and agents as PREMIS 3 XML",
)
def read_premis(
    aip_id: str,
    who: Principal = Depends(require(Role.SUBMITTER, Role.OFFICER, Role.OPS, Role.AUDITOR)),
    session: Session = Depends(db),
) -> Response:
    """Valid against the PREMIS 3.0 schema; every event names its entry in the hash chain."""
    aip = get_aip(session, aip_id, agency_id=who.scope)
    events = [*events_for(session, "sip", aip.sip_id), *events_for(session, "aip", aip.id)]
    events.sort(key=lambda e: (e.seq is None, e.seq or 0, e.id))
    return Response(aip_premis(aip, events, aip.agency.name), media_type="application/xml")
