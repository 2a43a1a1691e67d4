"""The preservation officer's recovery drills: every drill ``preserve drill`` kept, and one
drill's report on screen and as its printable page (the same body, ``drill_report_body.html``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from preserve.access.drill_report import kept_drill, kept_drills, to_html
from preserve.api.console.auth import Viewer, allow, runtime_of
from preserve.api.console.nav import OFFICERS
from preserve.api.console.render import SECURITY_HEADERS, page

router = APIRouter(prefix="/console/reports/drills", include_in_schema=False)
_OFFICER = Depends(allow(*OFFICERS))


def _summary(name: str, doc: dict) -> dict:
    targets = doc.get("targets") or []
    return {
        "name": name,
        "started_at": doc.get("started_at"),
        "profile": doc.get("profile"),
        "targets": [t.get("target") for t in targets],
        "sampled": sum(len(t.get("samples") or []) for t in targets),
        "failed": doc.get("failed", 0),
        "longest": max((t.get("estimated_full_restore_seconds") or 0 for t in targets), default=0),
    }


@router.get("")
def drills(request: Request, who: Viewer = _OFFICER) -> Response:
    data_dir = runtime_of(request).settings.resolved_data_dir
    rows = [_summary(name, doc) for name, doc in kept_drills(data_dir)]
    return page(request, "drills.html", {"who": who, "drills": rows})


@router.get("/{name}")
def drill(request: Request, name: str, who: Viewer = _OFFICER) -> Response:
    report = kept_drill(runtime_of(request).settings.resolved_data_dir, name)
    return page(request, "drill.html", {"who": who, "report": report, "name": name})


@router.get("/{name}/print")
def drill_print(request: Request, name: str, who: Viewer = _OFFICER) -> Response:
    """The page to print or file: A4, the archive's name and page numbers on every page."""
    settings = runtime_of(request).settings
    report = kept_drill(settings.resolved_data_dir, name)
    html = to_html(report, archive_name=settings.archive_name, zone_name=settings.display_timezone)
    return HTMLResponse(html, headers=SECURITY_HEADERS)
