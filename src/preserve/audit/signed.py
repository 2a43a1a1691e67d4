"""Signed reports: the archive key signs the canonical JSON of a report, so an auditor can
check that the file they were handed is the one the archive produced, unedited.

The envelope is ``{"report": {...}, "signature": {...}}``; the signature covers the report's
canonical form (keys sorted, no insignificant whitespace, UTF-8), so re-indenting the file
does not break it but changing any value does.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from preserve.canonical import canonical_for
from preserve.errors import IntegrityError
from preserve.trust.keys import SigningKey
from preserve.trust.signing import Signature, sign, verify

SIGNED_FILE = "fixity-report.json"


def canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_report(key: SigningKey, report: dict[str, Any]) -> dict[str, Any]:
    signature = sign(key, canonical(report), SIGNED_FILE)
    return {"report": report, "signature": json.loads(signature.to_json())}


def verify_report(envelope: Any, trusted: dict[str, Ed25519PublicKey] | None = None) -> Signature:
    """Raise :class:`IntegrityError` unless the envelope's signature covers its report."""
    if not isinstance(envelope, dict) or set(envelope) != {"report", "signature"}:
        raise IntegrityError("not a signed report: expected exactly 'report' and 'signature'")
    signature = Signature.from_json(json.dumps(envelope["signature"]).encode())
    report = envelope["report"]
    # A report that names its canonical form (the destruction list: RFC 8785) was signed over
    # it; fixity reports name none and were signed over the legacy form.
    form = report.get("canonicalization") if isinstance(report, dict) else None
    verify(signature, canonical_for(form, report) if form else canonical(report), trusted)
    return signature
