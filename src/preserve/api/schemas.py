"""The API's response shapes. Field names here are a contract other tools rely on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_type_hints

from pydantic import BaseModel, Field, create_model

from preserve.aip.metadata import FileRecord
from preserve.catalog.models import Aip, Sip


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class SipAccepted(BaseModel):
    id: str
    state: str


class SipOut(BaseModel):
    id: str
    state: str
    agency: str
    aip_id: str | None
    file_count: int
    total_bytes: int
    received_at: datetime
    updated_at: datetime
    reasons: list[Any] = Field(description="Why the SIP was rejected; empty otherwise.")
    metadata: dict[str, Any]

    @classmethod
    def of(cls, sip: Sip) -> SipOut:
        return cls(
            id=sip.id,
            state=sip.state.value,
            agency=sip.agency.name,
            aip_id=sip.aip_id,
            file_count=sip.file_count,
            total_bytes=sip.total_bytes,
            received_at=sip.received_at,
            updated_at=sip.updated_at,
            reasons=sip.reasons,
            metadata=sip.record_metadata,
        )


FileOut = create_model(
    "FileOut", **{name: (kind, ...) for name, kind in get_type_hints(FileRecord).items()}
)
"""One payload file: the fields declared once in :class:`preserve.aip.metadata.FileRecord`."""


class ReplicaOut(BaseModel):
    target: str
    state: str
    verified_time: datetime | None
    last_audit_time: datetime | None
    last_audit_outcome: str | None


class AipOut(BaseModel):
    id: str
    sip_id: str
    agency: str
    title: str
    archival_code: str
    storage_profile: str
    created_at: datetime
    file_count: int
    total_bytes: int
    signing_key_id: str
    files: list[FileOut]
    replicas: list[ReplicaOut]

    @classmethod
    def of(cls, aip: Aip) -> AipOut:
        return cls(
            id=aip.id,
            sip_id=aip.sip_id,
            agency=aip.agency.name,
            title=aip.title,
            archival_code=aip.archival_code,
            storage_profile=aip.storage_profile,
            created_at=aip.created_at,
            file_count=aip.file_count,
            total_bytes=aip.total_bytes,
            signing_key_id=aip.signing_key_id,
            files=[FileOut(**FileRecord.of(f).to_dict()) for f in aip.files],
            replicas=[
                ReplicaOut(
                    target=r.target,
                    state=r.state.value,
                    verified_time=r.verified_at,
                    last_audit_time=r.last_audit_at,
                    last_audit_outcome=r.last_audit_outcome,
                )
                for r in aip.replicas
            ],
        )


class PublicKeyOut(BaseModel):
    key_id: str
    algorithm: str
    public_key_pem: str
