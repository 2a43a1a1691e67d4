"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from assets the server itself serves.

Archives' networks are often isolated: FastAPI's default pages load their scripts from a CDN
and show a blank page there. Swagger UI 5 (``swagger-ui-dist``; the ``swagger-ui-bundle`` wheel
ships Swagger UI 4, which cannot read OpenAPI 3.1) and ReDoc's standalone bundle are vendored
under ``docs_assets/`` with their licences.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# Nothing outside this server, even where a bundle names a CDN (ReDoc's sidebar logo).
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
SWAGGER = "/docs/assets/swagger"
REDOC = "/docs/assets/redoc"


def install(app: FastAPI) -> None:
    assets = Path(__file__).parent / "docs_assets"
    app.mount(SWAGGER, StaticFiles(directory=assets / "swagger"), name="swagger")
    app.mount(REDOC, StaticFiles(directory=assets / "redoc"), name="redoc")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return _local(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} API",
                swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                swagger_css_url=f"{SWAGGER}/swagger-ui.css",
                swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _local(
            get_redoc_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} API",
                redoc_js_url=f"{REDOC}/redoc.standalone.js",
                redoc_favicon_url=f"{SWAGGER}/favicon-32x32.png",
                with_google_fonts=False,
            )
        )


def _local(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page
