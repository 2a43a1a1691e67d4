"""RFC 9457 problem+json for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from preserve.errors import InsufficientStorage, PreserveError
from preserve.storage.space import disk_full

PROBLEM_BASE = "https://preserve.dev/problems/"
MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


def problem(
    status: int, slug: str, title: str, detail: str, instance: str, **extra: Any
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(PreserveError)
    async def _domain(request: Request, exc: PreserveError) -> JSONResponse:
        if not isinstance(exc, InsufficientStorage) and disk_full(exc):
            return _disk_full(request, exc)
        if exc.status >= 500:
            log.error("%s on %s: %s", exc.slug, request.url.path, exc.detail)
        answer = problem(exc.status, exc.slug, exc.title, exc.detail, request.url.path, **exc.extra)
        if isinstance(exc, InsufficientStorage):
            answer.headers["Retry-After"] = "60"
        return answer

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(
            422,
            "invalid-input",
            "The request is not valid",
            detail,
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem(exc.status_code, slug, str(exc.detail), str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if disk_full(exc):
            return _disk_full(request, exc)
        log.exception("unexpected error on %s", request.url.path)
        return problem(
            500,
            "internal",
            "Internal error",
            "an unexpected error occurred; see the server log",
            request.url.path,
        )


def _disk_full(request: Request, exc: BaseException) -> JSONResponse:
    """A full disk under any error is the server's fault: 507, never a 4xx or a bare 500."""
    log.error("disk full on %s: %s", request.url.path, exc)
    error = InsufficientStorage("the archive's disk is full; try again once space is freed")
    response = problem(error.status, error.slug, error.title, error.detail, request.url.path)
    response.headers["Retry-After"] = "60"
    return response


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": text,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for code, text in {
        401: "Missing or invalid bearer token",
        403: "Role not allowed",
        404: "Unknown id (or another agency's)",
        422: "Invalid input",
    }.items()
}
