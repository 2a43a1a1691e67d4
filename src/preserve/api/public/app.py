"""The public face as its own FastAPI app: mounted at ``/public`` in the main app, and run
alone by ``preserve serve-public`` (:func:`create_standalone_app`, same URLs) so it can sit in a
DMZ apart from the ingest API, reading through a read-only connection.

Errors are problem+json like the staff API's, with two differences: a 404 always says only
"not found" (a record that is not open must answer exactly like an unknown id), and a 5xx
never says more than that the server could not answer.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from preserve import __version__
from preserve.api.problems import problem
from preserve.api.public import pages, records
from preserve.api.public.guard import PublicGuard
from preserve.api.public.ratelimit import TokenBuckets
from preserve.errors import PreserveError
from preserve.runtime import Runtime
from preserve.settings import Settings


def create_public_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="preserve public catalogue (开放档案)",
        version=__version__,
        description="Open records: search, read, download, verify. No account, no cookie.",
        docs_url=None,  # Swagger UI loads assets from elsewhere; the pages load nothing
        redoc_url=None,
    )
    app.state.runtime = rt
    _install_problems(app)
    app.include_router(records.router)
    app.include_router(pages.router)
    settings = rt.settings
    app.add_middleware(
        PublicGuard,
        buckets=TokenBuckets(settings.public_rate_per_second, settings.public_rate_burst),
    )
    return app


def create_standalone_app() -> FastAPI:
    """``preserve serve-public``: the public app alone, at the same ``/public`` URLs."""
    rt = Runtime(Settings())
    root = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    root.mount("/public", create_public_app(rt))

    @root.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse("/public/")

    return root


def _install_problems(app: FastAPI) -> None:
    @app.exception_handler(PreserveError)
    async def _domain(request: Request, exc: PreserveError) -> JSONResponse:
        if exc.status == 404:
            return _not_found(request)
        if exc.status >= 500:
            return _unavailable(request, exc.status)
        return problem(exc.status, exc.slug, exc.title, exc.detail, _path(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return problem(422, "invalid-input", "The request is not valid", detail, _path(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return _not_found(request)
        title = str(exc.detail)
        return problem(exc.status_code, "http-error", title, title, _path(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        import logging

        logging.getLogger(__name__).exception("unexpected error on the public face")
        return _unavailable(request, 500)


def _path(request: Request) -> str:
    return request.scope.get("root_path", "") + request.scope.get("path", "")


def _not_found(request: Request) -> JSONResponse:
    return problem(404, "not-found", "Not found", "not found", _path(request))


def _unavailable(request: Request, status: int) -> JSONResponse:
    return problem(
        status,
        "unavailable",
        "Not available now",
        "the server could not answer; try later",
        _path(request),
    )
