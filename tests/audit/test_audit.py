"""Auditing re-reads every replica and names what went wrong, where, as a fixity event."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from preserve.aip import bag
from preserve.aip.layout import aip_prefix
from preserve.audit.service import AuditOutcome
from preserve.catalog.events import EventType
from preserve.catalog.models import Replica
from preserve.catalog.repository import events_for
from preserve.jobs.tasks.audit import audit_all
from preserve.trust import keys
from preserve.trust.signing import sign
from support.ingest import ingest
from support.records import MINIMAL_PDF

GOOD, BAD = "site-a-disk", "site-b-nas"
FILES = {"docs/notice.pdf": MINIMAL_PDF, "附件/说明.txt": "说明文字\n".encode() * 50}


@pytest.fixture
def aip_id(rt, client, make_token) -> str:
    return ingest(rt, client, make_token, FILES)


def replica_dir(rt, aip_id: str, target: str) -> Path:
    return Path(rt.profile().target(target).root) / aip_prefix(aip_id)


def audit_by_target(rt):
    results = audit_all(rt)
    by_target = {r.target: r for r in results}
    assert len(by_target) == len(results) == 2
    return by_target


def fixity_events(rt, aip_id: str) -> dict[str, list[tuple[str, str]]]:
    with rt.sessions() as session:
        events = events_for(session, "aip", aip_id)
        found: dict[str, list[tuple[str, str]]] = {}
        for e in events:
            if e.type == EventType.FIXITY_CHECK.value:
                found.setdefault(e.target, []).append((e.outcome, e.detail))
        return found


def audit_outcomes_recorded(rt, aip_id: str) -> dict[str, str | None]:
    with rt.sessions() as session:
        replicas = session.scalars(select(Replica).where(Replica.aip_id == aip_id))
        return {r.target: r.last_audit_outcome for r in replicas}


def assert_one_failure(rt, aip_id: str, outcome: AuditOutcome, path: str) -> None:
    """The bad replica has exactly the expected problem; the good one is untouched."""
    audits = audit_by_target(rt)

    assert audits[GOOD].outcome == AuditOutcome.OK
    assert audits[GOOD].problems == []
    assert audits[GOOD].files_checked == len(FILES)
    bad = audits[BAD]
    assert bad.outcome == outcome
    assert [(p.path, p.outcome) for p in bad.problems] == [(path, outcome)]

    events = fixity_events(rt, aip_id)
    assert [o for o, _ in events[GOOD]] == ["success"]
    [(outcome_recorded, detail)] = events[BAD]
    assert outcome_recorded == "failure"
    assert path in detail
    assert outcome.value in detail
    assert audit_outcomes_recorded(rt, aip_id) == {GOOD: "ok", BAD: outcome.value}


def test_intact_replicas_audit_ok(rt, aip_id):
    [only] = audit_all(rt, target=GOOD)
    assert (only.target, only.outcome) == (GOOD, AuditOutcome.OK)
    assert set(fixity_events(rt, aip_id)) == {GOOD}, "only the chosen target is audited"

    audits = audit_by_target(rt)
    for audit in audits.values():
        assert audit.outcome == AuditOutcome.OK
        assert audit.files_checked == len(FILES)
        assert audit.bytes_read >= sum(len(c) for c in FILES.values())
    events = fixity_events(rt, aip_id)
    assert {t: [o for o, _ in e] for t, e in events.items()} == {
        GOOD: ["success", "success"],
        BAD: ["success"],
    }
    assert audit_outcomes_recorded(rt, aip_id) == {GOOD: "ok", BAD: "ok"}


def test_a_flipped_byte_is_a_mismatch(rt, aip_id):
    target = replica_dir(rt, aip_id, BAD) / "data" / "docs" / "notice.pdf"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x20
    target.write_bytes(bytes(data))

    assert_one_failure(rt, aip_id, AuditOutcome.MISMATCH, "data/docs/notice.pdf")


def test_a_truncated_file_is_a_mismatch(rt, aip_id):
    target = replica_dir(rt, aip_id, BAD) / "data" / "附件" / "说明.txt"
    target.write_bytes(target.read_bytes()[:-1])

    assert_one_failure(rt, aip_id, AuditOutcome.MISMATCH, "data/附件/说明.txt")


def test_a_deleted_file_is_missing(rt, aip_id):
    (replica_dir(rt, aip_id, BAD) / "data" / "附件" / "说明.txt").unlink()

    assert_one_failure(rt, aip_id, AuditOutcome.MISSING, "data/附件/说明.txt")


def test_a_payload_file_is_named_the_same_way_whatever_its_problem(rt, aip_id):
    root = replica_dir(rt, aip_id, BAD) / "data"
    (root / "docs" / "notice.pdf").write_bytes(b"changed")
    (root / "附件" / "说明.txt").unlink()
    named = {p.path for p in audit_by_target(rt)[BAD].problems}
    assert named == {"data/docs/notice.pdf", "data/附件/说明.txt"}


def forge_bag_info(bag_root: Path) -> bytes:
    """Change the bag's descriptive metadata and make the tag manifest agree with it."""
    info = bag_root / "bag-info.txt"
    info.write_bytes(info.read_bytes().replace(b"Source-Organization: ", b"Source-Organization: X"))
    tagmanifest = bag_root / bag.TAGMANIFEST
    entries = bag.parse_manifest(tagmanifest.read_bytes())
    entries["bag-info.txt"] = hashlib.sha256(info.read_bytes()).hexdigest()
    forged = bag.manifest_text(entries.items())
    tagmanifest.write_bytes(forged)
    return forged


def test_a_forged_tag_manifest_breaks_the_signature(rt, aip_id):
    forge_bag_info(replica_dir(rt, aip_id, BAD))

    assert_one_failure(rt, aip_id, AuditOutcome.SIGNATURE_INVALID, bag.TAGMANIFEST)


def test_a_tag_manifest_re_signed_with_another_key_is_refused(rt, aip_id, tmp_path):
    root = replica_dir(rt, aip_id, BAD)
    forged = forge_bag_info(root)
    intruder = keys.load_or_create(tmp_path / "intruder-keys")
    assert intruder.key_id != rt.signing_key.key_id
    (root / bag.SIGNATURE).write_bytes(sign(intruder, forged, bag.TAGMANIFEST).to_json())

    assert_one_failure(rt, aip_id, AuditOutcome.SIGNATURE_INVALID, bag.TAGMANIFEST)
    [(_, detail)] = fixity_events(rt, aip_id)[BAD]
    assert intruder.key_id in detail


def test_a_tag_manifest_re_signed_with_the_archive_key_is_still_refused(rt, aip_id):
    """A valid signature over a manifest other than the one recorded at ingest is no proof."""
    root = replica_dir(rt, aip_id, BAD)
    forged = forge_bag_info(root)
    (root / bag.SIGNATURE).write_bytes(sign(rt.signing_key, forged, bag.TAGMANIFEST).to_json())

    assert_one_failure(rt, aip_id, AuditOutcome.SIGNATURE_INVALID, bag.TAGMANIFEST)


def test_a_changed_tag_file_is_a_mismatch(rt, aip_id):
    record = replica_dir(rt, aip_id, BAD) / "metadata" / "record.json"
    record.write_bytes(record.read_bytes().replace(b"permanent", b"10y"))

    assert_one_failure(rt, aip_id, AuditOutcome.MISMATCH, "metadata/record.json")


def test_a_name_with_a_unicode_line_separator_audits_ok(rt, client, make_token):
    ingest(rt, client, make_token, {"notes\u2028draft.txt": b"text\n"})
    assert {a.outcome for a in audit_all(rt)} == {AuditOutcome.OK}
