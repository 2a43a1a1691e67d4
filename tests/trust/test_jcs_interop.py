"""What the archive signs can be verified by anyone: an independent RFC 8785 implementation
(the ``jcs`` package) and a plain Ed25519 check reproduce our signatures over receipts, fixity
reports and log checkpoints, without our code. Documents signed before JCS still verify with
ours."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import jcs
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from preserve.audit.signed import SIGNED_FILE, sign_report, verify_report
from preserve.canonical import legacy
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.errors import IntegrityError
from preserve.ingest import receipt as receipts
from preserve.jobs.tasks.trust import run_checkpoint
from preserve.trust.signing import sign


def independently_verified(document: object, signature: dict) -> bool:
    """RFC 8785 bytes from another implementation, the signed attributes' digest, Ed25519."""
    attributes = json.loads(signature["signed_attributes"])
    if hashlib.sha256(jcs.canonicalize(document)).hexdigest() != attributes["sha256"]:
        return False
    key = load_pem_public_key(signature["public_key"].encode())
    key.verify(base64.b64decode(signature["signature"]), signature["signed_attributes"].encode())
    return True


def _receipt(title: str) -> dict:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return receipts.build(
        sip_id="s-1",
        aip_id="a-1",
        agency="档案馆 😀",
        received_at=when,
        accepted_at=when,
        metadata={"title": title, "archival_code": "A-1"},
        files=[{"path": "𠀀/通知.pdf", "size": 3, "sha256": "ab" * 32}],
        checks=[{"code": "1-2", "name": "n", "outcome": "pass", "detail": "d"}],
        registry="PRONOM v125",
    )


def test_a_receipt_verifies_with_an_independent_jcs(rt):
    document = receipts.signed(_receipt("关于 \U0001f600 与 ﬀ 的通知"), rt.signing_key)
    assert independently_verified(document["receipt"], document["signature"])
    assert receipts.check(document, rt.trusted_keys()) == document["receipt"]


def test_a_receipt_signed_before_jcs_still_verifies(rt):
    old = {**_receipt("旧回执"), "receipt_version": 1}
    signature = sign(rt.signing_key, legacy(old), receipts.SIGNED_FILE)
    document = {"receipt": old, "signature": json.loads(signature.to_json())}
    assert receipts.check(document, rt.trusted_keys()) == old


def test_a_log_checkpoint_verifies_with_an_independent_jcs(rt, tmp_path):
    with rt.sessions.begin() as session:
        record_event(
            session,
            EventType.FIXITY_CHECK,
            Outcome.SUCCESS,
            object_type="aip",
            object_id="aip-😀",
            detail="档案 ok",
        )
    assert run_checkpoint(rt).made
    stored = next((tmp_path / "stores" / "site-a-disk" / "log" / "checkpoints").iterdir())
    doc = json.loads(stored.read_bytes())
    assert doc["checkpoint"]["v"] == 2
    assert independently_verified(doc["checkpoint"], doc["signature"])


def _report() -> dict:
    return {
        "title": "固定性报告 \U0001f600",
        "period": {"from": "2026-01-01T00:00:00+00:00", "to": "2026-02-01T00:00:00+00:00"},
        "coverage": 1.0,
        "targets": [{"name": "site-a-disk", "ok": 12, "failed": 0, "ratio": 0.5}],
    }


def test_a_fixity_report_verifies_with_an_independent_jcs(rt):
    envelope = sign_report(rt.signing_key, _report())
    assert envelope["report"]["canonicalization"] == "RFC8785"
    assert independently_verified(envelope["report"], envelope["signature"])
    verify_report(json.loads(json.dumps(envelope, indent=2)), rt.trusted_keys())


def test_a_fixity_report_signed_before_jcs_still_verifies_and_an_edit_does_not(rt):
    old = _report()
    signature = sign(rt.signing_key, legacy(old), SIGNED_FILE)
    envelope = {"report": old, "signature": json.loads(signature.to_json())}
    verify_report(envelope, rt.trusted_keys())
    envelope["report"]["coverage"] = 0.5
    with pytest.raises(IntegrityError):
        verify_report(envelope, rt.trusted_keys())
