"""Records: search and filters over the holdings listing, the AIP page with its proof, single
file and whole-AIP downloads, PREMIS, and SIPs with their states and receipts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from preserve.access import files as access_files
from preserve.access.download import ArchiveFormat, iter_archive, plan_archive
from preserve.access.holdings.filters import Filters, resolve_sort
from preserve.access.holdings.queries import AIPS, SIPS, list_page
from preserve.access.service import record_access
from preserve.access.sources import Attempts, iter_sources, load_record
from preserve.api.console.auth import Viewer, allow, runtime_of
from preserve.api.console.nav import READERS
from preserve.api.console.render import page
from preserve.catalog.events import Outcome
from preserve.catalog.repository import events_for, get_aip, get_sip
from preserve.errors import PreserveError
from preserve.trust.premis import aip_premis

router = APIRouter(prefix="/console", include_in_schema=False)
_READ = Depends(allow(*READERS))
_PAGE = 50


def _filters(who: Viewer, q: str | None, code: str | None, prefix: bool, **more: Any) -> Filters:
    wanted: dict[str, Any] = {k: v for k, v in more.items() if v}
    if q and q.strip():
        wanted["q"] = q.strip()
    if code and code.strip():
        wanted["archival_code_prefix" if prefix else "archival_code"] = code.strip()
    return Filters(scope=who.scope, **wanted)


@router.get("/records")
def records(
    request: Request,
    q: str | None = Query(None, max_length=200),
    code: str | None = Query(None, max_length=200),
    prefix: bool = False,
    fonds: str | None = Query(None, max_length=100),
    year: str | None = Query(None, max_length=16),
    cursor: str | None = Query(None, max_length=2048),
    who: Viewer = _READ,
) -> Response:
    """Find AIPs by 档号 (exact, or as a prefix), by words of the title and metadata, by fonds
    and year; a submitter finds only its own agency's."""
    wanted = _filters(who, q, code, prefix, fonds=fonds, year=year)
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        found = list_page(session, AIPS, wanted, resolve_sort(None, wanted), _PAGE, cursor)
        items = [(a.id, a.archival_code, a.title, a.created_at, a.total_bytes) for a in found.items]
    form = {"q": q or "", "code": code or "", "prefix": prefix, "fonds": fonds or ""}
    form["year"] = year or ""
    return page(
        request,
        "records.html",
        {"who": who, "items": items, "next_cursor": found.next_cursor, "form": form},
    )


@router.get("/aips/{aip_id}")
def aip_page(request: Request, aip_id: str, who: Viewer = _READ) -> Response:
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        aip = get_aip(session, aip_id, agency_id=who.scope)
        sip = get_sip(session, aip.sip_id, agency_id=who.scope)
        events = [*events_for(session, "sip", aip.sip_id), *events_for(session, "aip", aip.id)]
        events.sort(key=lambda e: (e.seq is None, e.seq or 0, e.id))
        context = {
            "who": who,
            "aip": aip,
            "agency": aip.agency.name,
            "metadata": sorted((aip.record_metadata or {}).items()),
            "checks": list(sip.check_report or []),
            "files": list(aip.files),
            "replicas": list(aip.replicas),
            "events": events,
        }
        return page(request, "aip.html", context)


@router.get("/aips/{aip_id}/premis.xml")
def aip_premis_xml(request: Request, aip_id: str, who: Viewer = _READ) -> Response:
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        aip = get_aip(session, aip_id, agency_id=who.scope)
        events = [*events_for(session, "sip", aip.sip_id), *events_for(session, "aip", aip.id)]
        events.sort(key=lambda e: (e.seq is None, e.seq or 0, e.id))
        xml = aip_premis(aip, events, aip.agency.name)
    return Response(
        xml,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{aip_id}-premis.xml"'},
    )


@router.get("/aips/{aip_id}/files/{path:path}")
def aip_file(request: Request, aip_id: str, path: str, who: Viewer = _READ) -> Response:
    """One payload file, checked against the catalogue's sha256 as it streams (as the API's)."""
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        record = load_record(session, aip_id, agency_id=who.scope)
    facts = access_files.file_facts(record, path)
    chosen, stream = access_files.open_payload(rt.stores, record, path, None)
    body = access_files.iter_verified(stream, path, facts, chosen)
    headers = {
        "Content-Length": str(facts.size),
        "Content-Disposition": access_files.content_disposition(path),
        "X-Content-Type-Options": "nosniff",
        "ETag": access_files.etag(facts),
    }

    def then() -> Iterator[bytes]:
        yield from body
        detail = f"file data/{path} sent to {who.role.value} of {who.agency_name} (console)"
        with rt.sessions.begin() as session:
            record_access(session, record, chosen, Outcome.SUCCESS, detail, "console")

    media_type = access_files.content_type(path)
    return StreamingResponse(then(), headers=headers, media_type=media_type)


@router.get("/aips/{aip_id}/download")
def aip_download(request: Request, aip_id: str, who: Viewer = _READ) -> Response:
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        record = load_record(session, aip_id, agency_id=who.scope)
    attempts = Attempts()
    for source in iter_sources(rt.stores, rt.trusted_keys(), record, None, attempts):
        try:
            plan = plan_archive(source, record)
            break
        except PreserveError as exc:
            attempts.add(source.target, exc)
    else:
        raise attempts.error(record.aip_id)
    fmt = ArchiveFormat.ZIP
    return StreamingResponse(
        iter_archive(plan, fmt, lambda sent: None),
        media_type=fmt.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{aip_id}.zip"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/sips")
def sips(
    request: Request,
    q: str | None = Query(None, max_length=200),
    state: str | None = Query(None, max_length=32),
    cursor: str | None = Query(None, max_length=2048),
    who: Viewer = _READ,
) -> Response:
    wanted = _filters(who, q, None, False, state=state)
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        found = list_page(session, SIPS, wanted, resolve_sort(None, wanted), _PAGE, cursor)
        items = [
            (s.id, s.state.value, s.archival_code, s.title, s.received_at, s.aip_id)
            for s in found.items
        ]
    form = {"q": q or "", "state": state or ""}
    return page(
        request,
        "sips.html",
        {"who": who, "items": items, "next_cursor": found.next_cursor, "form": form},
    )


@router.get("/sips/{sip_id}")
def sip_page(request: Request, sip_id: str, who: Viewer = _READ) -> Response:
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        sip = get_sip(session, sip_id, agency_id=who.scope)
        context = {
            "who": who,
            "sip": sip,
            "agency": sip.agency.name,
            "reasons": list(sip.reasons or []),
            "checks": list(sip.check_report or []),
            "receipt": sip.receipt,
        }
        return page(request, "sip.html", context)
