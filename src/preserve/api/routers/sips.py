"""``/v1/sips``: agencies push records and follow them."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, require, runtime
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.api.schemas import SipAccepted, SipOut
from preserve.catalog.db import session_scope
from preserve.catalog.models import Agency, Role, new_id
from preserve.catalog.repository import get_sip
from preserve.ingest.receive import UploadLimits, receive_multipart
from preserve.ingest.service import check_upload, register_sip
from preserve.ingest.staging import bag_dir, discard, fsync_tree
from preserve.runtime import Runtime

router = APIRouter(prefix="/v1/sips", tags=["sips"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["metadata", "files"],
                    "properties": {
                        "metadata": {
                            "type": "string",
                            "description": "JSON: title, creator, date (YYYY-MM-DD), retention "
                            "(permanent|30y|10y), archival_code; optional files.{path}.sha256",
                        },
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One part per file; the filename is its relative path.",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SipAccepted,
    openapi_extra=_UPLOAD_BODY,
    responses={**PROBLEM_RESPONSES, 413: PROBLEM_RESPONSES[422], 415: PROBLEM_RESPONSES[422]},
    summary="Push a SIP: record metadata and its files",
)
async def create_sip(
    request: Request,
    response: Response,
    who: Principal = Depends(require(Role.SUBMITTER)),
    rt: Runtime = Depends(runtime),
) -> SipAccepted:
    """Streams the files to staging while hashing them; answers 202 once they are fsynced and
    the SIP is committed. Processing continues in the worker; poll ``GET /v1/sips/{id}``."""
    sip_id = new_id()
    staging = rt.settings.staging_dir
    limits = UploadLimits(rt.settings.max_file_bytes, rt.settings.max_files_per_sip)
    try:
        received = await receive_multipart(
            request.stream(),
            request.headers.get("content-type", ""),
            bag_dir(staging, sip_id) / "data",
            limits,
        )
        metadata = check_upload(received.metadata_raw, received.files)
        await anyio.to_thread.run_sync(fsync_tree, bag_dir(staging, sip_id))

        def commit() -> str:
            with session_scope(rt.sessions) as session:
                agency = session.get(Agency, who.agency_id)
                profile_ref = agency.storage_profile or rt.settings.storage_profile
                sip = register_sip(session, agency, sip_id, metadata, received.files, profile_ref)
                return sip.state.value

        state = await anyio.to_thread.run_sync(commit)
    except BaseException:
        discard(staging, sip_id)
        raise
    response.headers["Location"] = f"/v1/sips/{sip_id}"
    return SipAccepted(id=sip_id, state=state)


@router.get("/{sip_id}", response_model=SipOut, responses=PROBLEM_RESPONSES)
def read_sip(
    sip_id: str,
    who: Principal = Depends(require(Role.SUBMITTER, Role.OFFICER, Role.OPS)),
    session: Session = Depends(db),
) -> SipOut:
    return SipOut.of(get_sip(session, sip_id, agency_id=who.scope))
