"""The AIP of a checked SIP: its signed receipt, the bag's tag files written beside the staged
payload and signed, and the catalogue rows that describe it. Runs with no session: what it
needs from the catalogue comes in a :class:`preserve.ingest.process.SipPlan`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preserve.aip import bag as bagit
from preserve.catalog.events import event_to_dict
from preserve.catalog.models import Aip, Event, File, new_id
from preserve.catalog.types import utcnow
from preserve.ingest import receipt as receipts
from preserve.ingest.formats import Identification
from preserve.ingest.staging import bag_dir, sender_dir
from preserve.ingest.validation.result import Validation
from preserve.trust.guomi import guomi_tag_files
from preserve.trust.premis import aip_premis
from preserve.trust.signing import tagmanifest_signer

if TYPE_CHECKING:
    from preserve.ingest.process import Checked, SipPlan


@dataclass(frozen=True)
class Packaged:
    aip_id: str
    packaged_at: datetime
    receipt: dict[str, Any]
    tagmanifest_sha256: str
    key_id: str


def package(
    plan: SipPlan, checked: Checked, staging_dir: Path, key: Any, sm2_key: Any | None
) -> Packaged:
    """Sign the receipt with ``key`` and write the bag's tag files in staging, the tag manifest
    signed with ``key`` (and the 国密 files signed with ``sm2_key`` when the profile asks)."""
    aip_id, packaged_at = new_id(), utcnow()
    registry = checked.identifications[0].registry if checked.identifications else ""
    receipt = receipts.signed(_receipt(plan, aip_id, checked, registry), key)
    events = [*plan.events, *checked.events]
    root = bag_dir(staging_dir, plan.sip_id)
    payload = [
        bagit.PayloadEntry(f.path, f.size, {"sha256": f.sha256, "sha512": f.sha512})
        for f in plan.files
    ]
    built = bagit.write_bag(
        root,
        payload,
        _bag_info(plan, aip_id),
        {
            "record.json": _record_document(plan, aip_id, packaged_at),
            "formats.json": [i.to_dict() for i in checked.identifications],
            "events.json": [event_to_dict(e) for e in events],
            "checks.json": {
                "sip_id": plan.sip_id,
                "checks": checked.report.to_list(),
                "validation": [v.to_dict() for v in checked.validations],
            },
            "receipt.json": receipt,
            "premis.xml": _premis_document(plan, aip_id, checked, events),
            **_sender_files(sender_dir(staging_dir, plan.sip_id)),
        },
        sign=tagmanifest_signer(key, bagit.TAGMANIFEST),
        extra_tags=guomi_tag_files(root, payload, sm2_key) if sm2_key else None,
    )
    return Packaged(aip_id, packaged_at, receipt, built.tagmanifest_sha256, key.key_id)


def _receipt(plan: SipPlan, aip_id: str, checked: Checked, registry: str) -> dict[str, Any]:
    return receipts.build(
        sip_id=plan.sip_id,
        aip_id=aip_id,
        agency=plan.agency_name,
        received_at=plan.received_at,
        accepted_at=utcnow(),
        metadata=plan.metadata,
        files=plan.manifest,
        checks=checked.report.to_list(),
        registry=registry,
    )


def aip_row(plan: SipPlan, packaged: Packaged) -> Aip:
    files = plan.files
    return Aip(
        id=packaged.aip_id,
        created_at=packaged.packaged_at,
        sip_id=plan.sip_id,
        agency_id=plan.agency_id,
        storage_profile=plan.profile_ref,
        title=plan.metadata["title"],
        archival_code=plan.metadata["archival_code"],
        record_metadata=plan.metadata,
        file_count=len(files),
        total_bytes=sum(f.size for f in files),
        signing_key_id=packaged.key_id,
        tagmanifest_sha256=packaged.tagmanifest_sha256,
    )


def file_rows(
    plan: SipPlan,
    identifications: list[Identification],
    aip_id: str,
    validations: list[Validation] | None = None,
) -> list[dict[str, Any]]:
    """The AIP's file rows, each with its identified format and its check 3-4 outcome."""
    by_path = {i.path: i for i in identifications}
    checked = {v.path: v for v in validations or []}
    rows = []
    for f in plan.files:
        found = by_path.get(f.path)
        valid = checked.get(f.path)
        rows.append(
            {
                "aip_id": aip_id,
                "path": f.path,
                "size": f.size,
                "sha256": f.sha256,
                "sha512": f.sha512,
                "puid": found.puid if found else None,
                "format_name": found.format_name if found else None,
                "format_method": found.method if found else None,
                "validation": valid.outcome.value if valid else None,
                "validation_detail": valid.detail if valid else None,
            }
        )
    return rows


def _sender_files(folder: Path) -> dict[str, bytes]:
    """The sender's own tag files (a bag's bagit.txt, bag-info.txt, manifests) and the metadata
    as sent, kept byte for byte under the AIP's ``metadata/sip/``."""
    if not folder.is_dir():
        return {}
    return {
        f"sip/{p.relative_to(folder).as_posix()}": p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _premis_document(plan: SipPlan, aip_id: str, checked: Checked, events: list[Event]) -> bytes:
    """PREMIS 3 XML for the AIP as packaged, from a transient (never added) AIP object."""
    aip = Aip(
        id=aip_id,
        title=plan.metadata["title"],
        archival_code=plan.metadata["archival_code"],
        record_metadata=plan.metadata,
        files=[
            File(**{k: v for k, v in row.items() if k != "aip_id"})
            for row in file_rows(plan, checked.identifications, aip_id, checked.validations)
        ],
        replicas=[],
    )
    return aip_premis(aip, events, plan.agency_name)


def _bag_info(plan: SipPlan, aip_id: str) -> dict[str, str]:
    return {
        "Source-Organization": plan.agency_name,
        "External-Identifier": plan.metadata["archival_code"],
        "External-Description": plan.metadata["title"],
        "Internal-Sender-Identifier": plan.sip_id,
        "Bag-Group-Identifier": aip_id,
        "Bagging-Date": utcnow().date().isoformat(),
        "Received-At": plan.received_at.isoformat(),
    }


def _record_document(plan: SipPlan, aip_id: str, packaged_at: datetime) -> dict[str, Any]:
    return {
        "aip_id": aip_id,
        "aip_created_at": packaged_at.isoformat(),
        "sip_id": plan.sip_id,
        "agency": plan.agency_name,
        "storage_profile": plan.profile_ref,
        "received_at": plan.received_at.isoformat(),
        "source": plan.source,
        "metadata": plan.metadata,
    }
