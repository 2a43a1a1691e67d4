"""The destruction list (销毁清册) of one batch: signed JSON, CSV and a printable page.

The JSON is ``{"report": {...}, "signature": {...}}``, the signature over the report's RFC 8785
form (the report says so in ``canonicalization``), so ``preserve report verify`` checks it like
a fixity report. Its records come from the tombstones, which survive a catalogue rebuild.
"""

from __future__ import annotations

import io
import json
from typing import Any

from sqlalchemy.orm import Session

from preserve.canonical import JCS, canonical
from preserve.catalog.types import utcnow
from preserve.disposal import repository as repo
from preserve.disposal.render import csv_text, html_page
from preserve.storage.base import Store
from preserve.trust.signing import sign

SIGNED_FILE = "destruction-list.json"
PREFIX = "disposal/lists/"
COLUMNS = [
    ("archival_code", "档号", "Archival code"),
    ("title", "题名", "Title"),
    ("retention", "保管期限", "Retention"),
    ("decision", "处置", "Decision"),
    ("reason", "理由", "Reason"),
    ("outcome", "结果", "Outcome"),
    ("destroyed_at", "销毁时间", "Destroyed at"),
    ("deletions", "各存储删除证明", "Deleted per target"),
    ("aip_id", "AIP", "AIP"),
]


def destruction_list(session: Session, appraisal_id: str) -> dict[str, Any]:
    batch = repo.get_appraisal(session, appraisal_id)
    stones = {t.aip_id: t for t in repo.tombstones(session, appraisal_id)}
    records = []
    for d in batch.decisions:
        if d.decision not in ("destroy", "deaccession"):
            continue
        stone = stones.get(d.aip_id)
        records.append(
            {
                "aip_id": d.aip_id,
                "archival_code": d.archival_code,
                "title": d.title,
                "retention": d.old_retention,
                "decision": d.decision,
                "reason": d.reason,
                "outcome": d.outcome,
                "problem": d.problem,
                "destroyed_at": stone.destroyed_at.isoformat() if stone else None,
                "deletions": dict(sorted(d.deletions.items())),
            }
        )
    return {
        "kind": "destruction-list",
        "title": "销毁清册 Destruction list",
        "canonicalization": JCS,
        "appraisal_id": batch.id,
        "appraisal_kind": batch.kind,
        "state": batch.state,
        "proposer": batch.proposer,
        "proposer_role": batch.proposer_role,
        "proposed_at": batch.proposed_at.isoformat(),
        "approver": batch.approver,
        "approver_role": batch.approver_role,
        "approved_at": batch.decided_at.isoformat() if batch.decided_at else None,
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
        "records": records,
        "generated_at": utcnow().isoformat(),
    }


def signed(key: Any, report: dict[str, Any]) -> dict[str, Any]:
    signature = sign(key, canonical(report), SIGNED_FILE)
    return {"report": report, "signature": json.loads(signature.to_json())}


def list_key(appraisal_id: str) -> str:
    return f"{PREFIX}{appraisal_id}.json"


def write_to(store: Store, envelope: dict[str, Any]) -> None:
    """The signed list kept beside the records it lists (a rewrite when a held record of the
    batch is destroyed later)."""
    data = json.dumps(envelope, ensure_ascii=False, indent=1).encode()
    store.put(list_key(envelope["report"]["appraisal_id"]), io.BytesIO(data), overwrite=True)


def to_csv(report: dict[str, Any]) -> str:
    return csv_text(COLUMNS, report["records"])


def to_html(report: dict[str, Any], key_id: str) -> str:
    facts = [
        f"鉴定批次 Batch: {report['appraisal_id']} ({report['state']})",
        f"提出人 Proposed by: {report['proposer']} ({report['proposer_role']}), "
        f"{report['proposed_at']}",
        f"批准人 Approved by: {report['approver'] or '-'} ({report['approver_role'] or '-'}), "
        f"{report['approved_at'] or '-'}",
        f"完成 Finished: {report['finished_at'] or '-'}",
        f"件数 Records: {len(report['records'])}",
        f"签名密钥 Signing key (JSON form): {key_id}",
    ]
    return html_page("销毁清册 · Destruction list", facts, COLUMNS, report["records"])
