"""The public web pages (Jinja2): catalogue search, a record, reading a PDF or image in the
page, the published catalogues. Chinese first, English second; nothing loaded from elsewhere
(the guard's Content-Security-Policy enforces it). Built from the same answers as the JSON API,
so they show exactly what it shows."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from preserve.access import public_catalogue as public
from preserve.access.holdings.filters import MAX_QUERY
from preserve.api.public.deps import readonly_db
from preserve.api.public.files import INLINE
from preserve.api.public.records import _catalogue, record_view, shown
from preserve.opening import repository as opening_repository

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("preserve.api.public", "templates"),
    autoescape=select_autoescape(["html"]),
)
LABELS = {
    "title": "题名 Title",
    "archival_code": "档号 Archival code",
    "date": "日期 Date",
    "creator": "责任者 Creator",
    "fonds": "全宗号 Fonds",
    "year": "年度 Year",
}


def _render(name: str, request: Request, **context) -> HTMLResponse:
    base = request.scope.get("root_path", "")
    html = _env.get_template(name).render(base=base, labels=LABELS, **context)
    return HTMLResponse(html)


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str | None = Query(None, max_length=MAX_QUERY),
    cursor: str | None = Query(None, max_length=2048),
    session: Session = Depends(readonly_db),
) -> HTMLResponse:
    page = public.search_page(session, q, 20, cursor)
    items = [
        {
            "id": r.id,
            "title": r.title,
            "fields": shown(r.fields, request),
            "passage": page.passages.get(r.id),
        }
        for r in page.items
    ]
    next_query = urlencode({k: v for k, v in (("q", q), ("cursor", page.next_cursor)) if v})
    return _render(
        "search.html",
        request,
        q=q,
        items=items,
        next_cursor=page.next_cursor,
        next_query=next_query,
    )


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(
    record_id: str, request: Request, session: Session = Depends(readonly_db)
) -> HTMLResponse:
    record = record_view(session, record_id, request)
    for f in record["files"]:
        f["readable"] = f["media_type"] in INLINE
        f["quoted"] = quote(f["path"])
    return _render("record.html", request, record=record)


@router.get("/records/{record_id}/read/{path:path}", response_class=HTMLResponse)
def read_page(
    record_id: str, path: str, request: Request, session: Session = Depends(readonly_db)
) -> HTMLResponse:
    record = record_view(session, record_id, request)
    found = [f for f in record["files"] if f["path"] == path and f["media_type"] in INLINE]
    if not found:
        raise public.PublicNotFound()
    return _render("read.html", request, record=record, path=path, file=found[0])


@router.get("/catalogues", response_class=HTMLResponse)
def catalogues_page(request: Request, session: Session = Depends(readonly_db)) -> HTMLResponse:
    return _render("catalogues.html", request, catalogues=opening_repository.catalogues(session))


@router.get("/catalogues/{catalogue_id}", response_class=HTMLResponse)
def catalogue_page(
    catalogue_id: str, request: Request, session: Session = Depends(readonly_db)
) -> HTMLResponse:
    row = _catalogue(session, catalogue_id)
    body = json.loads(row.document)["catalogue"]
    return _render("catalogue.html", request, body=body, key_id=row.key_id)
