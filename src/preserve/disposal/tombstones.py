"""Tombstones: what is kept of a destroyed record, in the catalogue and, signed, in every store.

Each store keeps ``disposal/tombstones/<aip_id>.json``: ``{"tombstone": {...}, "signature":
{...}}``, the signature over the tombstone's RFC 8785 form with the archive key (like receipts
and checkpoints). ``catalog rebuild`` reads them back (:func:`restore_from`), so a rebuilt
catalogue knows what was destroyed and does not take it for lost.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from preserve.canonical import JCS, canonical
from preserve.catalog.disposal_models import Appraisal, AppraisalDecision, Tombstone
from preserve.catalog.models import Aip
from preserve.catalog.types import utcnow
from preserve.disposal import repository as repo
from preserve.errors import IntegrityError
from preserve.storage.base import Store, read_bytes
from preserve.trust.signing import Signature, sign, verify

PREFIX = "disposal/tombstones/"
SIGNED_FILE = "tombstone.json"


def tombstone_key(aip_id: str) -> str:
    return f"{PREFIX}{aip_id}.json"


def build(aip: Aip, d: AppraisalDecision, batch: Appraisal) -> dict[str, Any]:
    """The tombstone of ``aip``, destroyed by decision ``d`` of ``batch`` (deletions filled)."""
    return {
        "type": "preserve-tombstone",
        "v": 1,
        "canonicalization": JCS,
        "aip_id": aip.id,
        "agency": aip.agency.name,
        "archival_code": aip.archival_code,
        "title": aip.title,
        "retention": aip.retention,
        "record_date": aip.record_date,
        "fonds": aip.fonds,
        "year": aip.year,
        "record_metadata": aip.record_metadata,
        "storage_profile": aip.storage_profile,
        "tagmanifest_sha256": aip.tagmanifest_sha256,
        "files": [
            {"path": f.path, "size": f.size, "sha256": f.sha256, "sha512": f.sha512}
            for f in aip.files
        ],
        "decision": d.decision,
        "reason": d.reason,
        "appraisal": {
            "id": batch.id,
            "kind": batch.kind,
            "proposer": batch.proposer,
            "proposer_role": batch.proposer_role,
            "proposed_at": batch.proposed_at.isoformat(),
            "approver": batch.approver,
            "approver_role": batch.approver_role,
            "approved_at": batch.decided_at.isoformat() if batch.decided_at else None,
        },
        "deletions": dict(sorted(d.deletions.items())),
        "destroyed_at": utcnow().isoformat(),
    }


def signed(key: Any, doc: dict[str, Any]) -> dict[str, Any]:
    signature = sign(key, canonical(doc), SIGNED_FILE)
    return {"tombstone": doc, "signature": json.loads(signature.to_json())}


def check(envelope: Any, trusted: Any) -> dict[str, Any]:
    """The tombstone of a signed envelope; :class:`IntegrityError` unless it verifies."""
    if not isinstance(envelope, dict) or set(envelope) != {"tombstone", "signature"}:
        raise IntegrityError("not a signed tombstone")
    doc = envelope["tombstone"]
    signature = Signature.from_json(json.dumps(envelope["signature"]).encode())
    verify(signature, canonical(doc), trusted)
    if not isinstance(doc, dict) or doc.get("type") != "preserve-tombstone":
        raise IntegrityError("not a tombstone")
    return doc


def write_to(store: Store, envelope: dict[str, Any]) -> None:
    data = json.dumps(envelope, ensure_ascii=False, indent=1).encode()
    store.put(tombstone_key(envelope["tombstone"]["aip_id"]), io.BytesIO(data), overwrite=True)


def add_row(session: Session, envelope: dict[str, Any]) -> Tombstone:
    doc = envelope["tombstone"]
    row = Tombstone(
        aip_id=doc["aip_id"],
        agency_id=repo.agency_id_named(session, doc["agency"]),
        agency=doc["agency"],
        appraisal_id=doc["appraisal"]["id"],
        archival_code=doc["archival_code"],
        title=doc["title"],
        retention=doc.get("retention"),
        record_date=doc.get("record_date"),
        fonds=doc.get("fonds"),
        year=doc.get("year"),
        decision=doc["decision"],
        reason=doc["reason"],
        document=envelope,
    )
    row.destroyed_at = datetime.fromisoformat(doc["destroyed_at"])
    session.add(row)
    return row


def restore_from(session: Session, store: Store, trusted: Any) -> tuple[int, list[str]]:
    """Catalogue the tombstones a store keeps (a catalogue rebuild): (added, unverifiable)."""
    known = repo.tombstone_ids(session)
    added, bad = 0, []
    for key in sorted(store.list(PREFIX)):
        try:
            envelope = json.loads(read_bytes(store, key))
            doc = check(envelope, trusted)
        except (ValueError, IntegrityError) as exc:
            bad.append(f"{key}: {exc}")
            continue
        if doc["aip_id"] in known:
            continue
        add_row(session, envelope)
        known.add(doc["aip_id"])
        added += 1
    session.flush()
    return added, bad


def tombstone_to_dict(row: Tombstone) -> dict[str, Any]:
    doc = row.document["tombstone"]
    return {
        "aip_id": row.aip_id,
        "state": "destroyed",
        "agency": row.agency,
        "archival_code": row.archival_code,
        "title": row.title,
        "retention": row.retention,
        "decision": row.decision,
        "reason": row.reason,
        "appraisal_id": row.appraisal_id,
        "destroyed_at": row.destroyed_at.isoformat(),
        "deletions": doc.get("deletions", {}),
        "approvals": doc.get("appraisal", {}),
        "files": doc.get("files", []),
        "signed": row.document,
    }
