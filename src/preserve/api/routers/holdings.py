"""``GET /v1/aips`` and ``GET /v1/sips``: filtered, searched, cursor-paged lists."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from preserve.access.holdings.filters import DEFAULT_LIMIT, MAX_LIMIT, Filters, Sort, resolve_sort
from preserve.access.holdings.items import aip_item, sip_item
from preserve.access.holdings.queries import AIPS, SIPS, Kind, Page, list_page
from preserve.api.deps import Principal, db, require
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.catalog.models import Role

router = APIRouter(tags=["holdings"])

_READERS = require(Role.SUBMITTER, Role.OFFICER, Role.OPS)
_LINK = {
    "Link": {"description": 'The next page: `<url>; rel="next"`', "schema": {"type": "string"}}
}


class AipItem(BaseModel):
    id: str
    sip_id: str
    agency: str
    archival_code: str
    title: str
    fonds: str | None
    year: str | None
    retention: str | None
    date: str | None
    created_at: datetime
    file_count: int
    total_bytes: int
    matched_fields: list[str] | None = Field(None, description="With q: the fields that match.")


class SipItem(BaseModel):
    id: str
    state: str
    agency: str
    aip_id: str | None
    archival_code: str | None
    title: str | None
    fonds: str | None
    year: str | None
    retention: str | None
    date: str | None
    received_at: datetime
    file_count: int
    total_bytes: int
    matched_fields: list[str] | None = Field(None, description="With q: the fields that match.")


class AipPage(BaseModel):
    items: list[AipItem]
    next_cursor: str | None = Field(description="Pass as cursor= for the next page; null at end.")


class SipPage(BaseModel):
    items: list[SipItem]
    next_cursor: str | None = Field(description="Pass as cursor= for the next page; null at end.")


def filters(
    q: str | None = Query(None, max_length=200, description="Search the record metadata."),
    agency: str | None = Query(None, description="Agency name (a submitter sees only its own)."),
    state: str | None = Query(None, description="SIP state; an AIP's is its SIP's."),
    archival_code: str | None = Query(None, max_length=200, description="档号, exact."),
    archival_code_prefix: str | None = Query(None, max_length=200, description="档号 prefix."),
    fonds: str | None = Query(None, max_length=100, description="全宗号"),
    year: str | None = Query(None, max_length=16, description="年度"),
    retention: str | None = Query(None, max_length=32, description="permanent, 30y or 10y"),
    date_from: date | None = Query(None, description="Record date on or after (YYYY-MM-DD)."),
    date_to: date | None = Query(None, description="Record date on or before (YYYY-MM-DD)."),
    ingested_from: datetime | None = Query(None, description="Ingested at or after (with zone)."),
    ingested_to: datetime | None = Query(None, description="Ingested at or before (with zone)."),
) -> dict[str, Any]:
    return {k: v for k, v in locals().items() if v not in (None, "")}


def copy_filters(
    puid: str | None = Query(None, max_length=64, description="Holds a file of this PRONOM id."),
    target: str | None = Query(None, max_length=63, description="Has a copy on this target."),
    fixity: str | None = Query(
        None, max_length=32, description="Outcome of a copy's last audit (with target: that copy)."
    ),
) -> dict[str, Any]:
    return {k: v for k, v in locals().items() if v not in (None, "")}


def paging(
    sort: Sort | None = Query(None, description="Default -ingested; relevance with q."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=2048, description="next_cursor of a page."),
) -> dict[str, Any]:
    return {"sort": sort, "limit": limit, "cursor": cursor}


@router.get(
    "/v1/aips",
    operation_id="listAips",
    response_model=AipPage,
    responses={**PROBLEM_RESPONSES, 200: {"headers": _LINK}},
    summary="List and search AIPs",
)
def list_aips(
    request: Request,
    response: Response,
    query: dict[str, Any] = Depends(filters),
    copies: dict[str, Any] = Depends(copy_filters),
    page_args: dict[str, Any] = Depends(paging),
    who: Principal = Depends(_READERS),
    session: Session = Depends(db),
) -> AipPage:
    page = _page(session, AIPS, Filters(scope=who.scope, **query, **copies), page_args)
    _link(request, response, page)
    return AipPage(
        items=[AipItem(**aip_item(a, page.matched.get(a.id))) for a in page.items],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/v1/sips",
    operation_id="listSips",
    response_model=SipPage,
    responses={**PROBLEM_RESPONSES, 200: {"headers": _LINK}},
    summary="List and search SIPs",
)
def list_sips(
    request: Request,
    response: Response,
    query: dict[str, Any] = Depends(filters),
    page_args: dict[str, Any] = Depends(paging),
    who: Principal = Depends(_READERS),
    session: Session = Depends(db),
) -> SipPage:
    page = _page(session, SIPS, Filters(scope=who.scope, **query), page_args)
    _link(request, response, page)
    return SipPage(
        items=[SipItem(**sip_item(s, page.matched.get(s.id))) for s in page.items],
        next_cursor=page.next_cursor,
    )


def _page(session: Session, kind: Kind, wanted: Filters, args: dict[str, Any]) -> Page:
    sort = resolve_sort(args["sort"], wanted)
    return list_page(session, kind, wanted, sort, args["limit"], args["cursor"])


def _link(request: Request, response: Response, page: Page) -> None:
    if page.next_cursor is not None:
        url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
