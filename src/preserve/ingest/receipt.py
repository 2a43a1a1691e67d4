"""The signed receipt an agency gets for an accepted SIP (ISO 16363 4.1.7; 接收登记).

A receipt is a JSON object signed in RFC 8785 (JCS) canonical form (:mod:`preserve.canonical`)
with the archive key through :mod:`preserve.trust.signing`; receipts of ``receipt_version`` 1
were signed over the legacy form, which verification still accepts. The document served at
``GET /v1/sips/{id}/receipt`` and kept in the AIP as ``metadata/receipt.json`` is::

    {"receipt": {...}, "signature": {<preserve.trust.signing document>}}

To verify offline (``preserve receipt verify FILE``): canonicalise ``receipt`` with any JCS
implementation, check the
signature over those bytes (its ``signed_file`` is ``receipt.json``) with a key published at
``GET /v1/keys`` or a PEM the archive handed over.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from preserve.canonical import JCS, canonical, canonical_for
from preserve.errors import IntegrityError
from preserve.trust.signing import Signature, sign, verify

RECEIPT_VERSION = 2
"""2: signed over the RFC 8785 form; 1: over the legacy form (:func:`preserve.canonical.legacy`)."""
SIGNED_FILE = "receipt.json"


def _signed_bytes(receipt: dict[str, Any]) -> bytes:
    form = JCS if receipt.get("receipt_version", 1) >= 2 else None
    return canonical_for(form, receipt)


def build(
    *,
    sip_id: str,
    aip_id: str,
    agency: str,
    received_at: datetime,
    accepted_at: datetime,
    metadata: dict[str, Any],
    files: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    registry: str,
) -> dict[str, Any]:
    return {
        "receipt_version": RECEIPT_VERSION,
        "sip_id": sip_id,
        "aip_id": aip_id,
        "agency": agency,
        "received_at": _time(received_at),
        "accepted_at": _time(accepted_at),
        "archival_code": metadata.get("archival_code"),
        "title": metadata.get("title"),
        "file_count": len(files),
        "total_bytes": sum(f["size"] for f in files),
        "files": [{"path": f["path"], "size": f["size"], "sha256": f["sha256"]} for f in files],
        "checks": [{k: c[k] for k in ("code", "name", "outcome", "detail")} for c in checks],
        "format_registry": registry,
    }


def _time(when: datetime) -> str:
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def signed(receipt: dict[str, Any], key: Any) -> dict[str, Any]:
    signature = sign(key, canonical(receipt), SIGNED_FILE)
    return {"receipt": receipt, "signature": json.loads(signature.to_json())}


def check(document: Any, trusted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The receipt inside a signed document, or :class:`IntegrityError` saying why not."""
    if not isinstance(document, dict) or not {"receipt", "signature"} <= set(document):
        raise IntegrityError("not a receipt: expected an object with 'receipt' and 'signature'")
    signature = Signature.from_json(json.dumps(document["signature"]).encode())
    if signature.signed_file != SIGNED_FILE:
        raise IntegrityError(f"the signature is over {signature.signed_file}, not a receipt")
    receipt = document["receipt"]
    if not isinstance(receipt, dict):
        raise IntegrityError("not a receipt: 'receipt' is not an object")
    verify(signature, _signed_bytes(receipt), trusted)
    return document["receipt"]
