"""``/v1/sips``: agencies push records, follow them, and fetch their signed receipts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from preserve.api.deps import Principal, db, guarded_body, require, runtime
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.api.schemas import SipAccepted, SipOut
from preserve.api.submission import submit_sip
from preserve.catalog.models import Role, Sip, SipState
from preserve.catalog.repository import get_sip
from preserve.errors import Forbidden, ReceiptNotReady
from preserve.ingest.receive import MalformedUpload
from preserve.ingest.submit import BAG_TYPES
from preserve.runtime import Runtime

router = APIRouter(prefix="/v1/sips", tags=["sips"])

_METADATA_DOC = (
    "JSON: the DA/T 46 core under English or Chinese names: title 题名, creator 责任者, date "
    "日期 (YYYY-MM-DD), retention 保管期限 (permanent|30y|10y|永久|30年|10年), archival_code "
    "档号 (required by the default profile); fonds 全宗号, year 年度, classification 密级 "
    "(their absence is a warning); optional files.{path}: {sha256, sha512, size}"
)
_BAG_SCHEMA = {"type": "string", "format": "binary"}
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "metadata": {"type": "string", "description": _METADATA_DOC},
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One part per file; the filename is its relative path.",
                        },
                        "bag": {
                            **_BAG_SCHEMA,
                            "description": "A serialized BagIt bag (zip, tar, tar.gz) instead of "
                            "'files'; with 'metadata' beside it, bag-info.txt need not carry it.",
                        },
                        "uploads": {
                            "type": "string",
                            "description": 'JSON {"path": "<upload id>"}: finished resumable '
                            "uploads (/v1/uploads) that join the SIP under those paths.",
                        },
                    },
                }
            },
            **{media: {"schema": _BAG_SCHEMA} for media in sorted(BAG_TYPES)},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "metadata": {"type": "object", "description": _METADATA_DOC},
                        "uploads": {"type": "object", "additionalProperties": {"type": "string"}},
                        "bag_upload": {"type": "string", "description": "An upload id."},
                    },
                }
            },
        },
    }
}


class CheckOut(BaseModel):
    code: str
    name: str
    outcome: str = Field(description="pass, warn or fail")
    detail: str


class SipDetail(SipOut):
    source: str = Field(description="multipart, bag or uploads")
    checks: list[CheckOut] = Field(description="The four-property report (DA/T 70) so far.")
    receipt: str | None = Field(description="Where the signed receipt is, once accepted.")

    @classmethod
    def of(cls, sip: Sip) -> SipDetail:
        base = SipOut.of(sip).model_dump()
        accepted = sip.receipt is not None
        return cls(
            **base,
            source=sip.source,
            checks=[CheckOut(**c) for c in sip.check_report or []],
            receipt=f"/v1/sips/{sip.id}/receipt" if accepted else None,
        )


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SipAccepted,
    openapi_extra=_UPLOAD_BODY,
    responses={
        **PROBLEM_RESPONSES,
        200: {"description": "A retry with the same Idempotency-Key and content: the original"},
        409: PROBLEM_RESPONSES[422] | {"description": "Idempotency-Key used for other content"},
        413: PROBLEM_RESPONSES[422] | {"description": "Too large"},
        415: PROBLEM_RESPONSES[422] | {"description": "Unsupported media type"},
    },
    summary="Push a SIP: files and metadata, a serialized bag, or finished uploads",
)
async def create_sip(
    request: Request,
    response: Response,
    who: Principal = Depends(require(Role.SUBMITTER)),
    rt: Runtime = Depends(runtime),
    idempotency_key: str | None = Header(default=None, max_length=255),
    content_digest: str | None = Header(default=None),
    storage_profile: str | None = Header(
        default=None,
        alias="Preserve-Storage-Profile",
        description="Admin only: store this SIP under the named profile instead of the agency's.",
    ),
) -> SipAccepted:
    """Streams the files to staging while hashing them and runs every check that needs only the
    upload (a failure is answered as problem+json listing every failed check, and recorded as a
    REJECTED SIP); answers 202 once the files are fsynced and the SIP is committed. Format,
    encryption and virus checks follow in the worker; poll ``GET /v1/sips/{id}``."""
    if storage_profile is not None and who.role != Role.ADMIN:
        raise Forbidden("only an administrator may choose the storage profile of a SIP")
    try:
        async with guarded_body(request, who) as body:
            done = await submit_sip(
                rt,
                who.agency_id,
                body,
                request.headers.get("content-type", ""),
                idempotency_key=idempotency_key,
                content_digest=content_digest,
                profile_override=storage_profile,
            )
    except ClientDisconnect:  # staging is already cleaned; retry with the same key
        raise MalformedUpload("the connection closed before the body was complete") from None
    response.headers["Location"] = f"/v1/sips/{done.sip_id}"
    if done.replay:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return SipAccepted(id=done.sip_id, state=done.state)


@router.get("/{sip_id}", response_model=SipDetail, responses=PROBLEM_RESPONSES)
def read_sip(
    sip_id: str,
    who: Principal = Depends(require(Role.SUBMITTER, Role.OFFICER, Role.OPS)),
    session: Session = Depends(db),
) -> SipDetail:
    return SipDetail.of(get_sip(session, sip_id, agency_id=who.scope))


@router.get(
    "/{sip_id}/receipt",
    responses={**PROBLEM_RESPONSES, 409: PROBLEM_RESPONSES[422]},
    summary="The signed receipt of an accepted SIP (canonical JSON, archive signature)",
)
def read_receipt(
    sip_id: str,
    who: Principal = Depends(require(Role.SUBMITTER, Role.OFFICER, Role.OPS)),
    session: Session = Depends(db),
) -> dict[str, Any]:
    """``{"receipt": {...}, "signature": {...}}``; verify it offline with ``preserve receipt
    verify FILE`` against the keys at ``GET /v1/keys``."""
    sip = get_sip(session, sip_id, agency_id=who.scope)
    if sip.receipt is None:
        if sip.state == SipState.REJECTED:
            raise ReceiptNotReady(
                f"SIP {sip_id} was rejected: " + "; ".join(sip.reasons), reasons=sip.reasons
            )
        raise ReceiptNotReady(f"SIP {sip_id} is {sip.state.value}; its checks are not done")
    return sip.receipt
