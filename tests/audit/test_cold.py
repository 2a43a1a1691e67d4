"""A cold target (moto's S3 server, objects in GLACIER that refuse reads until restored) is
audited by sampling: the sampled share is restored, audited once readable, and reported
separately."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from audit_support import ingest, make_due, scheduled_round
from sqlalchemy import select, update

from preserve.aip.layout import aip_key
from preserve.audit.schedule import in_sample
from preserve.audit.targets import TargetPolicy
from preserve.catalog.models import FixityCheck, Replica, Role
from preserve.catalog.types import utcnow
from preserve.runtime import Runtime
from preserve.storage.base import ObjectUnavailable, read_bytes
from support.profiles import write_disk_and_s3_profile

COLD = "cold-glacier"
AIPS = 8
SHARE = 0.25


def write_profile(settings, endpoint: str, bucket: str, storage_class: str | None) -> None:
    write_disk_and_s3_profile(
        settings.profiles_dir,
        settings.resolved_data_dir.parent / "stores" / "site-a-disk",
        endpoint,
        bucket,
        s3_name=COLD,
        s3_site="site-c",
        s3_media="tape",
        storage_class=storage_class,
        key_env="COLD_KEY",
        secret_env="COLD_SECRET",
        audit_interval_days=30,
    )


def to_glacier(client, bucket: str) -> int:
    """What a lifecycle rule does after a while: move every object to the archive class."""
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    for key in keys:
        client.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            StorageClass="GLACIER",
        )
    return len(keys)


def restored(client, bucket: str, aip_id: str) -> bool:
    head = client.head_object(Bucket=bucket, Key=aip_key(aip_id, "bagit.txt"))
    return "ongoing-request" in head.get("Restore", "")


def test_cold_target_is_sampled_restored_audited_and_reported(
    rt, settings, client, make_token, moto, monkeypatch
):
    monkeypatch.setenv("COLD_KEY", "testing")
    monkeypatch.setenv("COLD_SECRET", "testing")
    s3 = moto.client()
    bucket = f"aips-cold-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    write_profile(settings, moto.endpoint, bucket, None)
    ids = [ingest(rt, client, make_token, files={f"r{i}.txt": b"x" * (9 + i)}) for i in range(AIPS)]
    assert to_glacier(s3, bucket) > AIPS

    settings.audit_cold_sample_share = SHARE
    write_profile(settings, moto.endpoint, bucket, "GLACIER")
    cold_rt = Runtime(settings)
    try:
        with pytest.raises(ObjectUnavailable):
            read_bytes(cold_rt.store("local", COLD), aip_key(ids[0], "bagit.txt"))
        make_due(cold_rt)
        with cold_rt.sessions() as session:
            replicas = session.scalars(select(Replica).where(Replica.target == COLD)).all()
            policy = TargetPolicy(COLD, 30, cold=True, sample_share=SHARE)
            sample = {r.aip_id for r in replicas if in_sample(r.id, r.audit_due_at, policy)}
        assert 1 <= len(sample) <= 3

        scheduled_round(cold_rt)  # hot target audited; the sample's restores requested
        assert {a for a in ids if restored(s3, bucket, a)} == sample
        _restores_become_due(cold_rt)
        scheduled_round(cold_rt)  # readable now: the sample is audited
        with cold_rt.sessions() as session:
            cold_checks = session.scalars(
                select(FixityCheck).where(FixityCheck.target == COLD)
            ).all()
            assert {c.aip_id for c in cold_checks} == sample
            assert {c.outcome for c in cold_checks} == {"ok"}
            skipped = session.scalars(
                select(Replica).where(Replica.target == COLD, Replica.aip_id.not_in(sample))
            ).all()
            assert all(r.audit_due_at > utcnow() + timedelta(days=29) for r in skipped)
            assert all(r.last_audit_at is None for r in skipped)
    finally:
        cold_rt.close()

    officer = {"Authorization": f"Bearer {make_token('archive', Role.OFFICER)}"}
    from fastapi.testclient import TestClient

    from preserve.api.app import create_app

    report_rt = Runtime(settings)
    try:
        with TestClient(create_app(report_rt)) as api:
            report = api.get("/v1/reports/fixity", headers=officer).json()["report"]
    finally:
        report_rt.close()
    by_target = {t["target"]: t for t in report["targets"]}
    cold = by_target[COLD]
    assert (cold["mode"], cold["sample_share"], cold["objects"]) == ("sample", SHARE, AIPS)
    assert cold["audited_in_period"] == len(sample)
    assert cold["coverage"] == round(len(sample) / AIPS, 4)
    assert cold["sample_coverage"] == round(min(1, len(sample) / (AIPS * SHARE)), 4)
    hot = by_target["site-a-disk"]
    assert (hot["mode"], hot["audited_in_period"], hot["coverage"]) == ("full", AIPS, 1.0)


def _restores_become_due(rt) -> None:
    """Fifteen minutes pass: the replicas waiting for a restore are looked at again."""
    with rt.sessions.begin() as session:
        session.execute(
            update(Replica)
            .where(Replica.restore_requested_at.is_not(None))
            .values(next_audit_at=utcnow() - timedelta(seconds=1))
        )
