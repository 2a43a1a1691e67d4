"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from assets the server itself serves.

Archives' networks are often isolated: FastAPI's default pages load their scripts from a CDN
and show a blank page there. Swagger UI comes from the ``swagger-ui-bundle`` wheel; ReDoc's
standalone bundle is vendored under ``docs_assets/redoc`` with its licence.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER = "/docs/assets/swagger"
REDOC = "/docs/assets/redoc"


def install(app: FastAPI) -> None:
    app.mount(SWAGGER, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    redoc_dir = Path(__file__).parent / "docs_assets" / "redoc"
    app.mount(REDOC, StaticFiles(directory=redoc_dir), name="redoc")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            redoc_js_url=f"{REDOC}/redoc.standalone.js",
            redoc_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            with_google_fonts=False,
        )
