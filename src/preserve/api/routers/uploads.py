"""``/v1/uploads``: resumable uploads after tus 1.0.0 core (+ creation, termination, expiration).

See :mod:`preserve.ingest.uploads` for the protocol; a finished upload joins a SIP through the
``uploads`` field of ``POST /v1/sips``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request, Response, status
from starlette.requests import ClientDisconnect

from preserve.api.deps import Principal, guarded_body, require, runtime
from preserve.api.problems import PROBLEM_RESPONSES, problem
from preserve.api.units import in_transaction
from preserve.catalog.models import Role, Upload
from preserve.ingest import repository, uploads
from preserve.ingest.profile import load_profile
from preserve.ingest.receive import UnsupportedMediaType
from preserve.runtime import Runtime

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])
TUS = {"Tus-Resumable": uploads.TUS_VERSION}
_RESPONSES = {**PROBLEM_RESPONSES, 409: PROBLEM_RESPONSES[422], 413: PROBLEM_RESPONSES[422]}


def _headers(upload: Upload) -> dict[str, str]:
    return {
        **TUS,
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Upload-Expires": upload.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Cache-Control": "no-store",
    }


@router.options("", status_code=status.HTTP_204_NO_CONTENT)
def capabilities(rt: Runtime = Depends(runtime)) -> Response:
    return Response(
        status_code=204,
        headers={
            **TUS,
            "Tus-Version": uploads.TUS_VERSION,
            "Tus-Extension": uploads.TUS_EXTENSIONS,
            "Tus-Max-Size": str(rt.settings.max_file_bytes),
        },
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=_RESPONSES)
def create_upload(
    upload_length: int = Header(ge=0),
    upload_metadata: str | None = Header(default=None),
    who: Principal = Depends(require(Role.SUBMITTER)),
    rt: Runtime = Depends(runtime),
) -> Response:
    """Create an upload of ``Upload-Length`` bytes; ``Location`` names it."""
    return create_for(rt, who, upload_length, upload_metadata, "/v1/uploads")


def create_for(
    rt: Runtime, who: Principal, length: int, metadata: str | None, prefix: str
) -> Response:
    """Create an upload for ``who``'s agency (the API's and the console's): 201, ``Location``."""
    with rt.sessions.begin() as session:
        agency = repository.agency(session, who.agency_id)
        profile = load_profile(rt.settings.profiles_dir, agency.name)
        upload = uploads.create(
            session,
            rt.settings.staging_dir,
            who.agency_id,
            length,
            uploads.parse_metadata_header(metadata),
            rt.settings.max_file_bytes,
            profile.upload_expire_hours,
        )
        session.flush()
        headers = {**_headers(upload), "Location": f"{prefix}/{upload.id}"}
    return Response(status_code=201, headers=headers)


@router.head("/{upload_id}", responses=_RESPONSES)
def upload_offset(
    upload_id: str,
    who: Principal = Depends(require(Role.SUBMITTER)),
    rt: Runtime = Depends(runtime),
) -> Response:
    return offset_of(rt, who, upload_id)


def offset_of(rt: Runtime, who: Principal, upload_id: str) -> Response:
    with rt.sessions.begin() as session:
        upload = uploads.get(session, upload_id, who.agency_id)
        return Response(status_code=200, headers=_headers(upload))


@router.patch("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_RESPONSES)
async def append(
    upload_id: str,
    request: Request,
    upload_offset: int = Header(ge=0),
    content_type: str = Header(default=""),
    tus_resumable: str | None = Header(default=None),
    who: Principal = Depends(require(Role.SUBMITTER)),
    rt: Runtime = Depends(runtime),
) -> Response:
    """Append the body at ``Upload-Offset`` (must be the server's offset, else 409)."""
    if tus_resumable is not None and tus_resumable.strip() != uploads.TUS_VERSION:
        return _unsupported_version(request, tus_resumable)
    return await append_for(rt, request, who, upload_id, upload_offset, content_type)


async def append_for(
    rt: Runtime, request: Request, who: Principal, upload_id: str, offset: int, content_type: str
) -> Response:
    """Append the request's body at ``offset`` (the API's PATCH and the console's)."""
    if content_type.split(";")[0].strip() != "application/offset+octet-stream":
        raise UnsupportedMediaType("PATCH bodies must be application/offset+octet-stream")
    await in_transaction(rt, uploads.get, upload_id, who.agency_id)  # no lock for unknown ids
    async with uploads.lock(upload_id):
        upload = await in_transaction(rt, uploads.get, upload_id, who.agency_id)
        appending = uploads.start_append(upload, offset)
        try:
            async with guarded_body(request, who) as body:
                await uploads.write(rt.settings.staging_dir, appending, body)
        except ClientDisconnect:  # what arrived is kept; the client asks HEAD and goes on
            return Response(status_code=400, headers=TUS)
        finally:
            await in_transaction(rt, uploads.record_offset, appending)
        upload = await in_transaction(rt, uploads.get, upload_id, who.agency_id)
    return Response(status_code=204, headers=_headers(upload))


def _unsupported_version(request: Request, version: str) -> Response:
    """tus 1.0.0: a request in a protocol version the server does not speak is 412."""
    response = problem(
        412,
        "tus-version-unsupported",
        "The tus protocol version is not supported",
        f"Tus-Resumable {version[:40]!r} is not supported; this server speaks "
        f"{uploads.TUS_VERSION}",
        request.url.path,
    )
    response.headers.update({**TUS, "Tus-Version": uploads.TUS_VERSION})
    return response


@router.delete("/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_RESPONSES)
def terminate(
    upload_id: str,
    who: Principal = Depends(require(Role.SUBMITTER)),
    rt: Runtime = Depends(runtime),
) -> Response:
    with rt.sessions.begin() as session:
        uploads.terminate(
            session, rt.settings.staging_dir, uploads.get(session, upload_id, who.agency_id)
        )
    return Response(status_code=204, headers=TUS)
