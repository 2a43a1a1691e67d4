"""Sign-in, sign-out, the home page and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from preserve.api.console import i18n
from preserve.api.console.auth import (
    COOKIE,
    CrossSitePost,
    Viewer,
    absolute_limit,
    checked_form,
    runtime_of,
    same_site,
    viewer,
)
from preserve.api.console.render import page
from preserve.catalog.types import utcnow
from preserve.errors import Unauthorized
from preserve.trust import sessions

router = APIRouter(prefix="/console", include_in_schema=False)

_MAX_TOKEN = 200


@router.get("/login")
def login_form(request: Request) -> Response:
    return page(request, "login.html")


@router.post("/login")
async def login(request: Request) -> Response:
    """The token is read from the form body only, checked, and forgotten: the browser keeps a
    session id, never the token, and no URL, page or log line ever holds it."""
    if not same_site(request):
        raise CrossSitePost
    form = await request.form()
    token = form.get("token")
    if not isinstance(token, str) or not token.strip() or len(token) > _MAX_TOKEN:
        return page(request, "login.html", {"error": "empty"}, status=400)
    rt = runtime_of(request)
    try:
        with rt.sessions.begin() as session:
            session_id, _ = sessions.sign_in(session, token.strip(), utcnow(), absolute_limit(rt))
    except Unauthorized:
        return page(request, "login.html", {"error": "invalid"}, status=401)
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(absolute_limit(rt).total_seconds()),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, _form=Depends(checked_form), who: Viewer = Depends(viewer)):
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        sessions.sign_out(session, who.session_id, utcnow())
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
    return response


@router.get("/")
def home(request: Request, who: Viewer = Depends(viewer)) -> Response:
    return page(request, "home.html", {"who": who})


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/console/") -> Response:
    """Remember the chosen language; ``next`` may only be a console path (no open redirect)."""
    if not next.startswith("/console") or "//" in next or "\\" in next:
        next = "/console/"
    response = RedirectResponse(next, status_code=303)
    if code in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, samesite="strict")
    return response
