"""Separated duties (三员分立): the auditor's event log and its verification; the security
officer's tokens (issue, revoke) and keys (rotate). Each is for that role alone, as in the API
(``trust/duties.py``); every action is an event in the hash chain."""

from __future__ import annotations

from functools import partial

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from preserve.api.console.auth import Viewer, allow, checked_form, runtime_of
from preserve.api.console.nav import AUDITORS, SECURITY
from preserve.api.console.render import page
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Role
from preserve.catalog.types import utcnow
from preserve.errors import InvalidInput
from preserve.jobs.tasks.trust import verify_log
from preserve.trust import tokens as token_service
from preserve.trust.repository import log_page, tokens_listed
from preserve.trust.signing import ALGORITHM

router = APIRouter(prefix="/console", include_in_schema=False)
_AUDITOR = Depends(allow(*AUDITORS))
_SECURITY = Depends(allow(*SECURITY))
_LOG_PAGE = 100


@router.get("/audit/log")
def event_log(
    request: Request, after: int = Query(0, ge=0, le=2**62), who: Viewer = _AUDITOR
) -> Response:
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        events = list(log_page(session, after, _LOG_PAGE))
        last = events[-1].seq if len(events) == _LOG_PAGE else None
        return page(request, "audit_log.html", {"who": who, "events": events, "next": last})


@router.post("/audit/verify")
async def verify(request: Request, who: Viewer = _AUDITOR, _form=Depends(checked_form)):
    rt = runtime_of(request)
    agent = f"agency:{who.agency_name} as auditor (console)"
    report = await anyio.to_thread.run_sync(
        partial(verify_log, rt, agent=agent, agency_id=who.agency_id)
    )
    return page(request, "audit_verify.html", {"who": who, "report": report})


def _agent(who: Viewer) -> str:
    return f"agency:{who.agency_name} as security officer (console)"


@router.get("/security/tokens")
def tokens(request: Request, who: Viewer = _SECURITY) -> Response:
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        rows = [
            (t.id, t.prefix, t.agency.name, t.role.value, t.created_at, t.revoked_at)
            for t in tokens_listed(session)
        ]
    context = {"who": who, "tokens": rows, "roles": [r.value for r in Role]}
    return page(request, "tokens.html", context)


@router.post("/security/tokens")
def issue_token(request: Request, who: Viewer = _SECURITY, form=Depends(checked_form)):
    """The new token is shown once on the answer page (never in a URL); only its hash is kept."""
    agency = str(form.get("agency") or "").strip()
    role_name = str(form.get("role") or "")
    if not agency or len(agency) > 200 or role_name not in {r.value for r in Role}:
        raise InvalidInput("an agency name (up to 200 characters) and a known role are needed")
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        token, plaintext = token_service.issue_token(session, agency, Role(role_name), _agent(who))
        prefix = token.prefix
    context = {"who": who, "plaintext": plaintext, "prefix": prefix, "agency": agency}
    return page(request, "token_issued.html", context)


@router.post("/security/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: int, who: Viewer = _SECURITY, _form=Depends(checked_form)):
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        token_service.revoke_token(session, token_id, utcnow(), _agent(who))
    return RedirectResponse("/console/security/tokens", status_code=303)


@router.get("/security/keys")
def keys(request: Request, who: Viewer = _SECURITY) -> Response:
    rt = runtime_of(request)
    rt.signing_key  # noqa: B018 - the first key is made on first use
    return page(request, "keys.html", {"who": who, "keys": rt.keyring.list()})


@router.post("/security/keys/rotate")
def rotate(request: Request, who: Viewer = _SECURITY, form=Depends(checked_form)):
    reason = str(form.get("reason") or "").strip()[:200] or "rotation from the console"
    rt = runtime_of(request)
    old = rt.signing_key.key_id
    new = rt.keyring.rotate(ALGORITHM, reason=reason)
    with rt.sessions.begin() as session:
        record_event(
            session,
            EventType.KEY_ROTATION,
            Outcome.SUCCESS,
            object_type="key",
            object_id=new.key_id,
            detail=f"{ALGORITHM} key {old} → {new.key_id}: {reason}",
            agent=_agent(who),
        )
    return RedirectResponse("/console/security/keys", status_code=303)
