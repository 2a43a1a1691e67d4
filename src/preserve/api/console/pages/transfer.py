"""The agency submitter's hand transfer: a few files and their metadata, sent in chunks.

The page's script (``static/transfer.js``, vendored, same origin) creates one resumable upload
per file, appends it chunk by chunk (a chunk that fails is resumed from the server's offset),
then posts the metadata and the finished uploads as one SIP, and opens the SIP's page. The
routes are the API's resumable uploads and ``POST /v1/sips`` (the same functions) behind the
console's session: the cookie signs the request in, and the ``X-CSRF-Token`` header must carry
the session's token, as every console form's hidden field does. The final post carries an
``Idempotency-Key`` made once per transfer, so a retried post never makes two SIPs.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from preserve.api.console.auth import Viewer, allow, checked_header, runtime_of
from preserve.api.console.nav import SUBMITTERS
from preserve.api.console.render import page
from preserve.api.deps import Principal, guarded_body
from preserve.api.routers.uploads import append_for, create_for, offset_of
from preserve.api.submission import submit_sip
from preserve.errors import PreserveError
from preserve.ingest import repository
from preserve.ingest.metadata import ALIASES
from preserve.ingest.profile import load_profile
from preserve.runtime import Runtime

router = APIRouter(prefix="/console/transfer", include_in_schema=False)
_SUBMITTER = Depends(allow(*SUBMITTERS))
_SCRIPT = Depends(checked_header)
UPLOADS = "/console/transfer/uploads"
CHUNK_BYTES = 4 * 1024 * 1024
FIELDS = tuple(dict.fromkeys(ALIASES.values()))  # the DA/T 46 core, in the profile's order
_TYPES = {"date": "date", "year": "number"}


def _principal(who: Viewer) -> Principal:
    return Principal(who.agency_id, who.agency_name, who.role, who.token_id)


def _fields(rt: Runtime, who: Viewer) -> list[dict[str, object]]:
    with rt.sessions.begin() as session:
        agency = repository.agency(session, who.agency_id).name
    profile = load_profile(rt.settings.profiles_dir, agency)
    required = set(profile.metadata_schema.get("required") or ())
    return [
        {"name": name, "required": name in required, "type": _TYPES.get(name, "text")}
        for name in FIELDS
    ]


@router.get("")
def transfer_form(request: Request, who: Viewer = _SUBMITTER) -> Response:
    rt = runtime_of(request)
    context = {"who": who, "fields": _fields(rt, who), "chunk": CHUNK_BYTES, "uploads": UPLOADS}
    return page(request, "transfer.html", context)


@router.post("/uploads")
def create_upload(
    request: Request,
    upload_length: int = Header(ge=0),
    who: Viewer = _SUBMITTER,
    _checked: Viewer = _SCRIPT,
) -> Response:
    return create_for(runtime_of(request), _principal(who), upload_length, None, UPLOADS)


@router.get("/uploads/{upload_id}")
def upload_offset(
    request: Request, upload_id: str, who: Viewer = _SUBMITTER, _checked: Viewer = _SCRIPT
) -> Response:
    """Where a resumed upload goes on from (the script asks after a chunk failed)."""
    return offset_of(runtime_of(request), _principal(who), upload_id)


@router.patch("/uploads/{upload_id}")
async def append(
    request: Request,
    upload_id: str,
    upload_offset: int = Header(ge=0),
    content_type: str = Header(default=""),
    who: Viewer = _SUBMITTER,
    _checked: Viewer = _SCRIPT,
) -> Response:
    rt = runtime_of(request)
    return await append_for(rt, request, _principal(who), upload_id, upload_offset, content_type)


@router.post("/sip")
async def submit(
    request: Request,
    idempotency_key: str | None = Header(default=None, max_length=255),
    who: Viewer = _SUBMITTER,
    _checked: Viewer = _SCRIPT,
) -> Response:
    """``{"metadata": {...}, "uploads": {"path": "<upload id>"}}`` → ``{"sip": id, "location":
    the SIP's console page}``; a refused transfer answers its problem and, when it was recorded
    as a rejected SIP, that SIP's page too."""
    rt = runtime_of(request)
    who_api = _principal(who)
    try:
        async with guarded_body(request, who_api) as body:
            done = await submit_sip(
                rt, who.agency_id, body, "application/json", idempotency_key=idempotency_key
            )
    except ClientDisconnect:
        return JSONResponse({"title": "the connection closed"}, status_code=400)
    except PreserveError as exc:
        sip_id = exc.extra.get("sip_id")
        answer = {"title": exc.title, "detail": exc.detail, "sip": sip_id}
        if sip_id:
            answer["location"] = f"/console/sips/{sip_id}"
        return JSONResponse(answer, status_code=exc.status)
    return JSONResponse({"sip": done.sip_id, "location": f"/console/sips/{done.sip_id}"})
