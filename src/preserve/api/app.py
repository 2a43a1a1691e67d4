"""The FastAPI application: thin routers over the domain packages."""

from __future__ import annotations

from fastapi import FastAPI

from preserve import __version__
from preserve.api import console, docs, problems
from preserve.api.bodies import UploadSlots
from preserve.api.observability import RequestLog
from preserve.api.routers import (
    aips,
    appraisals,
    bagit_profile,
    holdings,
    metrics,
    openings,
    reports,
    sips,
    statistics,
    system,
    uploads,
)
from preserve.api.routers import premis as premis_router
from preserve.api.schemas import Problem
from preserve.runtime import Runtime
from preserve.settings import Settings


def create_app(rt: Runtime | None = None) -> FastAPI:
    rt = rt or Runtime(Settings())
    app = FastAPI(
        title="preserve",
        version=__version__,
        description="Digital preservation repository: push records, follow them, audit, restore.",
        docs_url=None,  # served from local assets by preserve.api.docs: works offline
        redoc_url=None,
    )
    app.state.runtime = rt
    app.state.upload_slots = UploadSlots()
    problems.install(app)
    app.add_middleware(RequestLog)
    modules = (
        system,
        holdings,
        statistics,
        sips,
        uploads,
        bagit_profile,
        aips,
        reports,
        metrics,
        openings,
    )
    for module in modules:
        app.include_router(module.router)
    app.include_router(premis_router.router)
    app.include_router(appraisals.router)
    app.include_router(appraisals.holds_router)
    console.install(app)
    docs.install(app)
    # The public face (preserve.api.public): its own app, also run alone by serve-public.
    from preserve.api.public.app import create_public_app

    app.mount("/public", create_public_app(rt))
    _add_problem_schema(app)
    return app


def _add_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
            Problem.model_json_schema()
        )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
