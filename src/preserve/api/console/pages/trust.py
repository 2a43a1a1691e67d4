"""Separated duties (三员分立): the auditor's event log and its verification; the security
officer's tokens (issue, revoke) and keys (rotate, revoke; each confirmed). Each is for that
role alone, as in the API (``trust/duties.py``); every action is an event in the hash chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import partial

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from preserve.api.console.auth import Viewer, allow, checked_form, runtime_of
from preserve.api.console.nav import AUDITORS, SECURITY
from preserve.api.console.render import page
from preserve.catalog.models import Role
from preserve.catalog.types import utcnow
from preserve.errors import InvalidInput, NotFound
from preserve.jobs.tasks.trust import verify_log
from preserve.trust import tokens as token_service
from preserve.trust.key_actions import revoke_key, rotate_key
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


def _confirmed(form) -> None:
    if form.get("confirm") != "yes":
        raise InvalidInput("tick the confirmation box to go on")


@router.post("/security/keys/rotate")
def rotate(request: Request, who: Viewer = _SECURITY, form=Depends(checked_form)):
    _confirmed(form)
    reason = str(form.get("reason") or "").strip()[:200] or "rotation from the console"
    rt = runtime_of(request)
    old = rt.signing_key.key_id
    with rt.sessions.begin() as session:
        rotate_key(rt.keyring, session, ALGORITHM, old, reason, _agent(who))
    return RedirectResponse("/console/security/keys", status_code=303)


def _key(rt, key_id: str):
    found = next((k for k in rt.keyring.list() if k.key_id == key_id), None)
    if found is None:
        raise NotFound(f"no key {key_id}")
    return found


@router.get("/security/keys/{key_id}/revoke")
def revoke_key_form(request: Request, key_id: str, who: Viewer = _SECURITY) -> Response:
    """The confirmation page: what revoking the key means, the reason, and from when."""
    key = _key(runtime_of(request), key_id)
    return page(request, "key_revoke.html", {"who": who, "key": key})


@router.post("/security/keys/{key_id}/revoke")
def revoke_signing_key(
    request: Request, key_id: str, who: Viewer = _SECURITY, form=Depends(checked_form)
):
    _confirmed(form)
    reason = str(form.get("reason") or "").strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("a reason (up to 200 characters) is needed to revoke a key")
    since = _since(str(form.get("from") or ""))
    rt = runtime_of(request)
    _key(rt, key_id)
    with rt.sessions.begin() as session:
        revoke_key(rt.keyring, session, key_id, since, reason, _agent(who))
    return RedirectResponse("/console/security/keys", status_code=303)


def _since(value: str) -> datetime:
    """The day the revocation starts (UTC midnight), or now."""
    if not value.strip():
        return utcnow()
    try:
        return datetime.combine(date.fromisoformat(value.strip()), time(), UTC)
    except ValueError:
        raise InvalidInput("the date must be YYYY-MM-DD") from None
