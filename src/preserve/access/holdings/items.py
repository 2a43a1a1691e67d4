"""What one list row shows of a SIP or an AIP: the same fields on the API and the CLI."""

from __future__ import annotations

from typing import Any

from preserve.catalog.models import Aip, Sip

_COMMON = ("id", "archival_code", "title", "fonds", "year", "retention")


def aip_item(aip: Aip, matched: list[str] | None = None) -> dict[str, Any]:
    return {
        **{k: getattr(aip, k) for k in _COMMON},
        "sip_id": aip.sip_id,
        "agency": aip.agency.name,
        "date": aip.record_date,
        "created_at": aip.created_at,
        "file_count": aip.file_count,
        "total_bytes": aip.total_bytes,
        "matched_fields": matched,
    }


def sip_item(sip: Sip, matched: list[str] | None = None) -> dict[str, Any]:
    return {
        **{k: getattr(sip, k) for k in _COMMON},
        "state": sip.state.value,
        "agency": sip.agency.name,
        "aip_id": sip.aip_id,
        "date": sip.record_date,
        "received_at": sip.received_at,
        "file_count": sip.file_count,
        "total_bytes": sip.total_bytes,
        "matched_fields": matched,
    }


def aip_detail(aip: Aip) -> dict[str, Any]:
    """One AIP with its metadata, files and copies (``preserve aips show``)."""
    return {
        **aip_item(aip),
        "metadata": aip.record_metadata,
        "storage_profile": aip.storage_profile,
        "signing_key_id": aip.signing_key_id,
        "files": [
            {k: getattr(f, k) for k in ("path", "size", "sha256", "puid", "format_name")}
            for f in aip.files
        ],
        "replicas": [
            {
                "target": r.target,
                "state": r.state.value,
                "verified_at": r.verified_at,
                "last_audit_at": r.last_audit_at,
                "last_audit_outcome": r.last_audit_outcome,
            }
            for r in aip.replicas
        ],
    }
