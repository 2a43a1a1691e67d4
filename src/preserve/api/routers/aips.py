"""``/v1/aips``: what the archive holds for a record, and its bytes."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from preserve.access import files as access_files
from preserve.access.download import (
    ArchiveFormat,
    ArchivePlan,
    iter_archive,
    negotiate,
    plan_archive,
)
from preserve.access.files import RangeNotSatisfiable
from preserve.access.service import record_access
from preserve.access.sources import AipRecord, Attempts, iter_sources, load_record
from preserve.api.deps import Principal, db, require, runtime
from preserve.api.problems import PROBLEM_RESPONSES, problem
from preserve.api.schemas import AipOut
from preserve.catalog.events import Outcome
from preserve.catalog.models import Role
from preserve.catalog.repository import get_aip
from preserve.disposal.repository import get_tombstone
from preserve.disposal.tombstones import tombstone_to_dict
from preserve.errors import Gone, NotFound, PreserveError
from preserve.runtime import Runtime

router = APIRouter(prefix="/v1/aips", tags=["aips"])

_READERS = require(Role.SUBMITTER, Role.OFFICER, Role.OPS)
_TARGET = Query(None, description="Read this target's copy; default: the nearest healthy one.")
_BINARY = {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}
_COPY = {503: {**PROBLEM_RESPONSES[404], "description": "No healthy copy can be read now"}}


@router.get(
    "/{aip_id}",
    response_model=AipOut,
    responses={
        **PROBLEM_RESPONSES,
        410: {**PROBLEM_RESPONSES[404], "description": "Destroyed; the tombstone"},
    },
)
def read_aip(
    aip_id: str,
    who: Principal = Depends(_READERS),
    session: Session = Depends(db),
) -> AipOut:
    try:
        return AipOut.of(get_aip(session, aip_id, agency_id=who.scope))
    except NotFound:
        _destroyed(session, aip_id, who)
        raise


def _destroyed(session: Session, aip_id: str, who: Principal) -> None:
    """A destroyed record answers 410 with its tombstone (preserve.disposal)."""
    try:
        stone = get_tombstone(session, aip_id, agency_id=who.scope)
    except NotFound:
        return
    found = tombstone_to_dict(stone)
    found.pop("signed")
    raise Gone(f"AIP {aip_id} was destroyed on {found['destroyed_at']}", tombstone=found)


@router.get(
    "/{aip_id}/files/{path:path}",
    response_class=StreamingResponse,
    responses={
        **PROBLEM_RESPONSES,
        **_COPY,
        200: {**_BINARY, "description": "The whole file"},
        206: {**_BINARY, "description": "The requested byte range"},
        304: {"description": "Not modified (If-None-Match)"},
        416: {**PROBLEM_RESPONSES[422], "description": "Range not satisfiable"},
    },
    summary="Read one payload file (HTTP Range supported)",
)
def read_file(
    aip_id: str,
    path: str,
    request: Request,
    target: str | None = _TARGET,
    who: Principal = Depends(_READERS),
    rt: Runtime = Depends(runtime),
) -> Response:
    """Streams one file under ``data/``. Headers: ``Content-Length``, ``Accept-Ranges``,
    ``ETag`` (the quoted sha256, strong), ``Repr-Digest`` (RFC 9530: sha-256 and sha-512 of
    the whole file), ``X-Preserve-Target`` (the copy that answered). A whole-file answer is
    checked against the catalogue's sha256 as it streams and cut short if it does not match."""
    record = _record(rt, aip_id, who)
    facts = access_files.file_facts(record, path)
    tag = access_files.etag(facts)
    headers = {
        "ETag": tag,
        "Repr-Digest": access_files.repr_digest(facts),
        "Accept-Ranges": "bytes",
        "Content-Disposition": access_files.content_disposition(path),
        "X-Content-Type-Options": "nosniff",
    }
    if access_files.etag_listed(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    try:
        byte_range = _requested_range(request, facts.size, tag)
    except RangeNotSatisfiable as exc:
        return _unsatisfiable(request, exc, facts.size)
    chosen, stream = access_files.open_payload(rt.stores, record, path, target)
    headers["X-Preserve-Target"] = chosen
    media_type = access_files.content_type(path)
    if byte_range is None:
        headers["Content-Length"] = str(facts.size)
        body = access_files.iter_verified(stream, path, facts, chosen)
        done = _when_done(rt, record, chosen, who, f"file data/{path}")
        return StreamingResponse(_then(body, done), headers=headers, media_type=media_type)
    headers["Content-Length"] = str(byte_range.length)
    headers["Content-Range"] = byte_range.content_range(facts.size)
    body = access_files.iter_range(stream, byte_range)
    return StreamingResponse(body, status_code=206, headers=headers, media_type=media_type)


def _requested_range(request: Request, size: int, tag: str) -> access_files.ByteRange | None:
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != tag:
        return None  # the client's partial copy is of another representation: send it whole
    return access_files.parse_range(request.headers.get("range"), size)


def _unsatisfiable(request: Request, exc: RangeNotSatisfiable, size: int) -> Response:
    response = problem(exc.status, exc.slug, exc.title, exc.detail, request.url.path)
    response.headers["Content-Range"] = f"bytes */{size}"
    return response


@router.get(
    "/{aip_id}/download",
    response_class=StreamingResponse,
    responses={
        **PROBLEM_RESPONSES,
        **_COPY,
        200: {
            "content": {
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "application/x-tar": {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "The whole AIP bag, streamed",
        },
        406: {**PROBLEM_RESPONSES[422], "description": "Neither zip nor tar is acceptable"},
    },
    summary="Download the whole AIP (bag, manifests and signature) as zip or tar",
)
def download_aip(
    aip_id: str,
    request: Request,
    format: ArchiveFormat | None = Query(
        None, description="zip or tar; default: by the Accept header, else zip."
    ),
    target: str | None = _TARGET,
    who: Principal = Depends(_READERS),
    rt: Runtime = Depends(runtime),
) -> StreamingResponse:
    """Streams the bag as ``<aip-id>/...`` without staging it: every member is checked against
    the signed manifests as it passes, and a member that does not match ends the stream before
    the archive is complete (no central directory, no end blocks)."""
    fmt = negotiate(format, request.headers.get("accept"))
    record = _record(rt, aip_id, who)
    plan = _first_plan(rt, record, target)
    done = _when_done(rt, record, plan.source.target, who, f"whole AIP as {fmt.value}")
    return StreamingResponse(
        iter_archive(plan, fmt, lambda sent: done()),
        media_type=fmt.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{aip_id}.{fmt.value}"',
            "X-Preserve-Target": plan.source.target,
            "X-Content-Type-Options": "nosniff",
        },
    )


def _record(rt: Runtime, aip_id: str, who: Principal) -> AipRecord:
    """Read in a transaction of its own, closed before streaming starts: a download may last
    minutes, and on SQLite an open transaction would hold the write lock all that time."""
    with rt.sessions.begin() as session:
        return load_record(session, aip_id, agency_id=who.scope)


def _first_plan(rt: Runtime, record: AipRecord, target: str | None) -> ArchivePlan:
    attempts = Attempts()
    for source in iter_sources(rt.stores, rt.trusted_keys(), record, target, attempts):
        try:
            return plan_archive(source, record)
        except PreserveError as exc:
            attempts.add(source.target, exc)
    raise attempts.error(record.aip_id)


def _when_done(rt: Runtime, record: AipRecord, target: str, who: Principal, what: str):
    def done() -> None:
        detail = f"{what} sent to {who.role.value} of {who.agency_name}"
        with rt.sessions.begin() as session:
            record_access(session, record, target, Outcome.SUCCESS, detail, "api")

    return done


def _then(body: Iterator[bytes], done) -> Iterator[bytes]:
    yield from body
    done()
