"""Who is signed in to the console, what their role may open, and the CSRF check on every POST.

A page depends on :func:`allow` with the roles that may see it (the same rules as the API:
``api/deps.py`` lets the administrator through everywhere but the separated duties of the
security officer and the auditor). A form handler depends on :func:`checked_form`: the form's
``csrf_token`` must be the session's, and a post another site's page made (``Origin`` or
``Sec-Fetch-Site`` says so) is refused before anything is read from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, Request
from starlette.datastructures import FormData

from preserve.catalog.models import Role
from preserve.catalog.types import utcnow
from preserve.runtime import Runtime
from preserve.trust import sessions

COOKIE = "console_session"


@dataclass(frozen=True)
class Viewer:
    role: Role
    agency_id: int
    agency_name: str
    token_id: int
    session_id: str

    @property
    def scope(self) -> int | None:
        """A submitter sees only its own agency's records."""
        return self.agency_id if self.role == Role.SUBMITTER else None

    @property
    def csrf(self) -> str:
        return sessions.csrf_token(self.session_id)


class LoginRequired(Exception):
    """No live session: the browser is sent to the sign-in form."""


class PageForbidden(Exception):
    """A signed-in role opened a page that is not for it (rendered as a 403 page)."""


class CrossSitePost(Exception):
    """A state-changing request without this session's CSRF token, or from another site."""


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def idle_limit(rt: Runtime) -> timedelta:
    return timedelta(minutes=rt.settings.console_idle_minutes)


def absolute_limit(rt: Runtime) -> timedelta:
    return timedelta(hours=rt.settings.console_max_hours)


def viewer(request: Request) -> Viewer:
    rt = runtime_of(request)
    session_id = request.cookies.get(COOKIE)
    with rt.sessions.begin() as session:
        row = sessions.current(session, session_id, utcnow(), idle_limit(rt))
        if row is None or session_id is None:
            raise LoginRequired
        token = row.token
        return Viewer(token.role, token.agency_id, token.agency.name, token.id, session_id)


def allow(*roles: Role) -> Callable[..., Viewer]:
    def check(who: Viewer = Depends(viewer)) -> Viewer:
        if who.role not in roles:
            raise PageForbidden
        return who

    return check


def same_site(request: Request) -> bool:
    """False when the browser says the request comes from another site's page."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == f"{request.url.scheme}://{request.url.netloc}"
    return True


async def checked_form(request: Request, who: Viewer = Depends(viewer)) -> FormData:
    if not same_site(request):
        raise CrossSitePost
    form = await request.form()
    offered = form.get("csrf_token")
    if not isinstance(offered, str) or not sessions.csrf_ok(who.session_id, offered):
        raise CrossSitePost
    return form


CSRF_HEADER = "x-csrf-token"


def checked_header(request: Request, who: Viewer = Depends(viewer)) -> Viewer:
    """The CSRF check of the console's own scripts (a same-origin ``fetch`` with the session's
    cookie): the ``X-CSRF-Token`` header must be the session's token, as the hidden field is."""
    offered = request.headers.get(CSRF_HEADER)
    if not same_site(request) or not offered or not sessions.csrf_ok(who.session_id, offered):
        raise CrossSitePost
    return who
