"""The scheduled audit finds each kind of damage in one replica and repairs it from the good
one; with every replica bad it raises a critical alert and writes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from audit_support import (
    BAD,
    FILES,
    GOOD,
    checks,
    ingest,
    make_due,
    replica_dir,
    scheduled_round,
    snapshot,
    webhook_receiver,
)

from preserve.aip import bag
from preserve.audit.auditor import AuditOutcome
from preserve.catalog.events import EventType
from preserve.catalog.models import Alert, Replica, ReplicaState, Role
from preserve.catalog.repository import events_for


def flip_byte(root: Path) -> None:
    victim = root / "data" / "docs" / "notice.pdf"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x20
    victim.write_bytes(bytes(data))


def truncate(root: Path) -> None:
    victim = root / "data" / "附件" / "说明.txt"
    victim.write_bytes(victim.read_bytes()[:-1])


def delete(root: Path) -> None:
    (root / "data" / "附件" / "说明.txt").unlink()


def forge_tag_manifest(root: Path) -> None:
    """Edit the descriptive metadata and make the tag manifest agree (the signature cannot)."""
    info = root / "bag-info.txt"
    info.write_bytes(info.read_bytes() + b"Note: edited afterwards\n")
    entries = bag.parse_manifest((root / bag.TAGMANIFEST).read_bytes())
    entries["bag-info.txt"] = hashlib.sha256(info.read_bytes()).hexdigest()
    (root / bag.TAGMANIFEST).write_bytes(bag.manifest_text(entries.items()))


DAMAGE = {
    "flipped-byte": (flip_byte, AuditOutcome.MISMATCH, "data/docs/notice.pdf"),
    "truncation": (truncate, AuditOutcome.MISMATCH, "data/附件/说明.txt"),
    "deletion": (delete, AuditOutcome.MISSING, "data/附件/说明.txt"),
    "forged-tag-manifest": (forge_tag_manifest, AuditOutcome.SIGNATURE_INVALID, bag.TAGMANIFEST),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_is_found_and_repaired_from_the_good_replica(rt, client, make_token, damage):
    corrupt, outcome, path = DAMAGE[damage]
    aip_id = ingest(rt, client, make_token)
    good_before = snapshot(replica_dir(rt, aip_id, GOOD))
    corrupt(replica_dir(rt, aip_id, BAD))
    assert snapshot(replica_dir(rt, aip_id, BAD)) != good_before
    make_due(rt, aip_id)

    scheduled_round(rt)

    assert snapshot(replica_dir(rt, aip_id, BAD)) == good_before
    assert snapshot(replica_dir(rt, aip_id, GOOD)) == good_before
    found = [c for c in checks(rt, aip_id) if c.target == BAD]
    failed, verified = found[0], found[-1]
    assert (failed.outcome, failed.resolution, failed.repair_source) == (
        outcome.value,
        "repaired",
        GOOD,
    )
    assert path in failed.detail
    assert (verified.outcome, verified.resolution) == ("ok", None)
    with rt.sessions() as session:
        events = events_for(session, "aip", aip_id)
        repairs = [e for e in events if e.type == EventType.REPAIR.value]
        assert [(e.target, e.outcome) for e in repairs] == [(BAD, "success")]
        assert GOOD in repairs[0].detail
        replica = session.query(Replica).filter_by(aip_id=aip_id, target=BAD).one()
        assert replica.state == ReplicaState.VERIFIED
        assert replica.audit_due_at > verified.checked_at
        assert session.query(Alert).count() == 0

    officer = {"Authorization": f"Bearer {make_token('archive', Role.OFFICER)}"}
    report = client.get("/v1/reports/fixity", headers=officer).json()["report"]
    [failure] = report["failures"]
    assert (failure["aip_id"], failure["target"], failure["outcome"]) == (
        aip_id,
        BAD,
        outcome.value,
    )
    assert (failure["resolution"], failure["repair_source"]) == ("repaired", GOOD)
    by_target = {t["target"]: t for t in report["targets"]}
    assert by_target[BAD]["repairs"] == 1
    assert by_target[BAD]["outcomes"][outcome.value] == 1


def test_every_replica_bad_raises_a_critical_alert_and_repairs_nothing(rt, client, make_token):
    aip_id = ingest(rt, client, make_token)
    flip_byte(replica_dir(rt, aip_id, GOOD))
    truncate(replica_dir(rt, aip_id, BAD))
    before = {t: snapshot(replica_dir(rt, aip_id, t)) for t in (GOOD, BAD)}
    make_due(rt, aip_id)

    with webhook_receiver() as (url, received):
        rt.settings.alert_webhook_url = url
        scheduled_round(rt)

    assert {t: snapshot(replica_dir(rt, aip_id, t)) for t in (GOOD, BAD)} == before
    assert received, "the webhook got no alert"
    content_type, body = received[0]
    assert content_type == "application/json"
    assert (body["severity"], body["kind"], body["aip_id"]) == (
        "critical",
        "no-good-replica",
        aip_id,
    )
    with rt.sessions() as session:
        alerts = session.query(Alert).all()
        assert {a.severity for a in alerts} == {"critical"}
        assert all(a.delivered_at is not None for a in alerts)
        events = events_for(session, "aip", aip_id)
        assert not [e for e in events if e.type == EventType.REPAIR.value]
        states = {r.target: r.state for r in session.query(Replica).filter_by(aip_id=aip_id)}
        assert states == {GOOD: ReplicaState.FAILED, BAD: ReplicaState.FAILED}
    failures = [c for c in checks(rt, aip_id) if c.outcome != "ok"]
    assert failures and {c.resolution for c in failures} <= {"unrepairable", "superseded"}
    assert "unrepairable" in {c.resolution for c in failures}

    metrics = client.get("/metrics").text
    assert 'preserve_alerts_total{severity="critical"}' in metrics
    assert 'preserve_fixity_repairs_total{target="site-b-nas"} 0' in metrics


def test_a_webhook_that_refuses_is_recorded_and_retried(rt, client, make_token):
    aip_id = ingest(rt, client, make_token, files={"a.txt": b"only\n"})
    for target in (GOOD, BAD):
        (replica_dir(rt, aip_id, target) / "data" / "a.txt").write_bytes(b"gone\n")
    make_due(rt, aip_id)
    with webhook_receiver(status=500) as (url, received):
        rt.settings.alert_webhook_url = url
        scheduled_round(rt)
        with rt.sessions() as session:
            alert = session.query(Alert).first()
            assert alert is not None and alert.delivered_at is None
            assert alert.delivery_error == "HTTP 500"
        attempts = len(received)
        assert attempts >= 1
    with webhook_receiver() as (url, received):
        rt.settings.alert_webhook_url = url
        from preserve.jobs.tasks.audit import redeliver

        assert redeliver(rt) >= 1
        assert received[0][1]["kind"] == "no-good-replica"


def test_manual_run_without_repair_leaves_the_damage_for_review(rt, client, make_token):
    from preserve.jobs.tasks.audit import audit_all

    aip_id = ingest(rt, client, make_token, files=dict(FILES))
    delete(replica_dir(rt, aip_id, BAD))
    results = {r.target: r for r in audit_all(rt)}
    assert results[BAD].outcome == AuditOutcome.MISSING and results[BAD].repair is None
    assert not (replica_dir(rt, aip_id, BAD) / "data" / "附件" / "说明.txt").exists()
    [failed] = [c for c in checks(rt, aip_id) if c.outcome != "ok"]
    assert failed.resolution == "pending"

    repaired = {r.target: r for r in audit_all(rt, target=BAD, repair=True)}
    assert repaired[BAD].repair.repaired
    assert (replica_dir(rt, aip_id, BAD) / "data" / "附件" / "说明.txt").exists()


def test_repair_on_a_worm_bucket_writes_a_new_version(
    rt, settings, client, make_token, moto, monkeypatch
):
    """Object Lock keeps the damaged version; the repair is the newest version on top of it."""
    import uuid

    from preserve.aip.layout import aip_key

    monkeypatch.setenv("WORM_KEY", "testing")
    monkeypatch.setenv("WORM_SECRET", "testing")
    bucket = f"worm-{uuid.uuid4().hex[:8]}"
    s3 = moto.make_bucket(bucket, object_lock=True)
    stores = settings.resolved_data_dir.parent / "stores"
    (settings.profiles_dir / "local.toml").write_text(
        f"""
name = "local"
[policy]
min_copies = 2
min_sites = 2
min_media = 2
audit_interval_days = 30

[[targets]]
name = "{GOOD}"
kind = "filesystem"
site = "site-a"
media = "disk"
root = "{stores / GOOD}"

[[targets]]
name = "worm"
kind = "s3"
site = "site-w"
media = "object-storage"
endpoint = "{moto.endpoint}"
bucket = "{bucket}"
region = "us-east-1"
access_key_env = "WORM_KEY"
secret_key_env = "WORM_SECRET"
object_lock = {{ mode = "COMPLIANCE", days = 1 }}
""",
        encoding="utf-8",
    )
    aip_id = ingest(rt, client, make_token)
    key = aip_key(aip_id, "data/docs/notice.pdf")
    original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=b"tampered")
    make_due(rt, aip_id)

    scheduled_round(rt)

    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == original
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 3, "original, damaged and repaired versions are all kept"
    [failed] = [c for c in checks(rt, aip_id) if c.outcome != "ok"]
    assert (failed.target, failed.outcome, failed.resolution) == ("worm", "mismatch", "repaired")


def test_a_replica_that_reads_whole_again_is_verified_and_its_failure_resolved(
    rt, client, make_token
):
    from preserve.jobs.tasks.audit import audit_all

    aip_id = ingest(rt, client, make_token)
    victim = replica_dir(rt, aip_id, BAD) / "data" / "docs" / "notice.pdf"
    away = victim.with_name("moved-away")
    victim.rename(away)  # a mount that came back empty for a while
    audit_all(rt, target=BAD)
    with rt.sessions() as session:
        assert session.query(Replica).filter_by(target=BAD).one().state == ReplicaState.FAILED
    away.rename(victim)
    [again] = audit_all(rt, target=BAD)
    assert again.outcome == AuditOutcome.OK
    with rt.sessions() as session:
        assert session.query(Replica).filter_by(target=BAD).one().state == ReplicaState.VERIFIED
    [failed] = [c for c in checks(rt, aip_id) if c.outcome != "ok"]
    assert (failed.outcome, failed.resolution) == ("missing", "resolved")
