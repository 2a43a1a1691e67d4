"""``/public/v1/...``: the open records as JSON. Every answer is built from open records only
(preserve.access.public_catalogue); a record that is not open is answered as unknown."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from preserve.access import public_catalogue as public
from preserve.access.holdings.filters import MAX_QUERY
from preserve.api.public import files as public_files
from preserve.api.public.deps import readonly_db, runtime
from preserve.opening import catalogue as catalogues
from preserve.opening import repository as opening_repository
from preserve.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["public"])
_NOT_FOUND = {404: {"description": "Unknown id, or a record that is not open"}}


class Passage(BaseModel):
    path: str
    passage: str


class RecordItem(BaseModel):
    id: str
    title: str
    fields: dict[str, str] = Field(description="Only the publishable fields.")
    opened_at: datetime
    url: str
    passage: Passage | None = Field(None, description="With q: where the full text matches.")


class RecordPage(BaseModel):
    items: list[RecordItem]
    next_cursor: str | None


class FileOut(BaseModel):
    path: str
    size: int
    sha256: str
    media_type: str
    url: str


class RecordOut(BaseModel):
    id: str
    title: str
    fields: dict[str, str]
    opened_at: datetime
    files: list[FileOut]
    signature_url: str


class CatalogueOut(BaseModel):
    id: str
    period_from: str
    period_to: str
    record_count: int
    key_id: str
    created_at: datetime
    json_url: str
    csv_url: str
    page_url: str


def _base(request: Request) -> str:
    return request.scope.get("root_path", "")


def shown(fields: dict[str, str], request: Request) -> dict[str, str]:
    """The fields copied when the record opened, less any no longer listed as publishable."""
    allowed = request.app.state.runtime.settings.public_fields
    return {k: v for k, v in fields.items() if k in allowed}


def file_url(base: str, record_id: str, path: str) -> str:
    return f"{base}/v1/records/{record_id}/files/{quote(path)}"


@router.get(
    "/records",
    operation_id="searchPublicRecords",
    response_model=RecordPage,
    summary="Open records",
)
def search_records(
    request: Request,
    q: str | None = Query(None, max_length=MAX_QUERY, description="Search: 中文 or English."),
    cursor: str | None = Query(None, max_length=2048),
    limit: int = Query(20, ge=1, le=100),
    session: Session = Depends(readonly_db),
) -> RecordPage:
    page = public.search_page(session, q, limit, cursor)
    base = _base(request)
    return RecordPage(
        items=[
            RecordItem(
                id=r.id,
                title=r.title,
                fields=shown(r.fields, request),
                opened_at=r.opened_at,
                url=f"{base}/v1/records/{r.id}",
                passage=page.passages.get(r.id),
            )
            for r in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/records/{record_id}",
    operation_id="readPublicRecord",
    response_model=RecordOut,
    responses=_NOT_FOUND,
    summary="One open record",
)
def read_record(
    record_id: str, request: Request, session: Session = Depends(readonly_db)
) -> RecordOut:
    return RecordOut(**record_view(session, record_id, request))


def record_view(session: Session, record_id: str, request: Request) -> dict[str, Any]:
    from preserve.access.files import content_type

    base = _base(request)
    row = public.get_record(session, record_id)
    files = public.record_files(session, record_id)
    return {
        "id": row.id,
        "title": row.title,
        "fields": shown(row.fields, request),
        "opened_at": row.opened_at,
        "files": [
            {
                "path": f.path,
                "size": f.size,
                "sha256": f.sha256,
                "media_type": content_type(f.path),
                "url": file_url(base, row.id, f.path),
            }
            for f in files
        ],
        "signature_url": f"{base}/v1/records/{row.id}/signature",
    }


@router.get(
    "/records/{record_id}/files/{path:path}",
    operation_id="readPublicFile",
    responses={
        **_NOT_FOUND,
        200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}},
    },
    summary="One file of an open record, from a verified copy (SHA-256 in the headers)",
)
def read_file(
    record_id: str,
    path: str,
    download: bool = Query(False, description="Always as an attachment."),
    rt: Runtime = Depends(runtime),
) -> Response:
    return public_files.stream_file(rt, record_id, path, download)


@router.get(
    "/records/{record_id}/signature",
    operation_id="readPublicSignature",
    responses=_NOT_FOUND,
    summary="The archive's signature over the record's AIP, with the manifests it covers",
)
def read_signature(record_id: str, rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    return public_files.proof(rt, record_id)


@router.get("/keys", operation_id="listPublicKeys", summary="The archive's public keys")
def public_keys(rt: Runtime = Depends(runtime)) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in info.to_dict().items() if k != "revocation_reason"}
        for info in rt.keyring.list()
    ]


@router.get(
    "/catalogues",
    operation_id="listPublicCatalogues",
    response_model=list[CatalogueOut],
    summary="The published catalogues of open records (开放档案目录)",
)
def list_catalogues(
    request: Request, session: Session = Depends(readonly_db)
) -> list[CatalogueOut]:
    base = _base(request)
    return [
        CatalogueOut(
            id=c.id,
            period_from=c.period_from.isoformat(),
            period_to=c.period_to.isoformat(),
            record_count=c.record_count,
            key_id=c.key_id,
            created_at=c.created_at,
            json_url=f"{base}/v1/catalogues/{c.id}",
            csv_url=f"{base}/v1/catalogues/{c.id}/csv",
            page_url=f"{base}/catalogues/{c.id}",
        )
        for c in opening_repository.catalogues(session)
    ]


@router.get(
    "/catalogues/{catalogue_id}",
    operation_id="readPublicCatalogue",
    responses=_NOT_FOUND,
    summary="One catalogue: the signed JSON document",
)
def read_catalogue(catalogue_id: str, session: Session = Depends(readonly_db)) -> Response:
    row = _catalogue(session, catalogue_id)
    return Response(row.document, media_type="application/json")


@router.get(
    "/catalogues/{catalogue_id}/csv",
    operation_id="readPublicCatalogueCsv",
    responses=_NOT_FOUND,
    response_class=PlainTextResponse,
    summary="One catalogue as CSV",
)
def read_catalogue_csv(catalogue_id: str, session: Session = Depends(readonly_db)) -> Response:
    row = _catalogue(session, catalogue_id)
    body = catalogues.to_csv(json.loads(row.document)["catalogue"])
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8")


def _catalogue(session: Session, catalogue_id: str):
    found = public.is_id(catalogue_id)
    row = opening_repository.catalogue(session, catalogue_id) if found else None
    if row is None:
        raise public.PublicNotFound()
    return row
