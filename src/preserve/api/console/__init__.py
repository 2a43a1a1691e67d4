"""The web console (``/console``): server-rendered pages for officers, ops staff, agencies,
auditors and security officers, over the same domain services as the API.

:func:`install` adds its routes, its vendored static files and its error pages to the app.
Pages register their navigation entry by role in :mod:`preserve.api.console.nav`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from preserve.api.console.auth import CrossSitePost, LoginRequired, PageForbidden
from preserve.api.console.pages import (
    appraisals,
    drills,
    officer,
    openings,
    ops,
    records,
    session,
    transfer,
    trust,
)
from preserve.api.console.render import page
from preserve.errors import PreserveError

PREFIX = "/console"


def install(app: FastAPI) -> None:
    for module in (session, officer, drills, records, ops, trust, appraisals, openings, transfer):
        app.include_router(module.router)
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(packages=[("preserve.api.console", "static")]),
        name="console-static",
    )
    domain = app.exception_handlers[PreserveError]
    invalid = app.exception_handlers[RequestValidationError]

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return page(request, "error.html", {"status": 403, "reason": "forbidden"}, status=403)

    @app.exception_handler(CrossSitePost)
    async def _cross_site(request: Request, exc: CrossSitePost) -> Response:
        return page(request, "error.html", {"status": 403, "reason": "csrf"}, status=403)

    @app.exception_handler(PreserveError)
    async def _domain(request: Request, exc: PreserveError) -> Response:
        if not request.url.path.startswith(PREFIX):
            return await domain(request, exc)
        status = exc.status if exc.status < 500 else 500
        context = {"status": status, "reason": "domain", "title": exc.title, "detail": exc.detail}
        return page(request, "error.html", context, status=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if not request.url.path.startswith(PREFIX):
            return await invalid(request, exc)
        context = {"status": 400, "reason": "invalid"}
        return page(request, "error.html", context, status=400)
