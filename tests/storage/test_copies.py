"""Placement and replication over filesystem and S3 targets (moto's server over HTTP), with the
jobs run in process: copies proven, outages holding only their own target, lying servers caught.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from preserve.aip.layout import aip_key
from preserve.catalog import queue
from preserve.catalog.models import Job, JobState, Outage, ReplicaState
from preserve.catalog.repository import events_for, get_aip
from preserve.catalog.types import utcnow
from preserve.jobs.worker import drain
from storage.replication_support import (
    CREDENTIALS,
    S3,
    Fs,
    bucket_name,
    push,
    sip_state,
    write_profile,
)
from support.moto_server import MotoServer

BIG = os.urandom(6 * 1024 * 1024 + 17)  # two parts of 5 MiB: a multipart upload


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def use(rt, targets, **policy) -> None:
    """Make ``targets`` the default profile of ``rt`` (before anything loaded it)."""
    write_profile(rt.settings.profiles_dir, "local", targets, **policy)
    for t in targets:
        if isinstance(t, S3) and t.server.running:
            t.make_bucket()


def replicas(rt, aip_id: str) -> dict[str, str]:
    with rt.sessions() as session:
        return {r.target: r.state.value for r in get_aip(session, aip_id).replicas}


def jobs(rt, target: str) -> list[Job]:
    """The copy jobs of ``target``, oldest first."""
    with rt.sessions() as session:
        stmt = select(Job).where(Job.resource == f"target:{target}").order_by(Job.id)
        found = session.scalars(stmt).all()
        session.expunge_all()
        return list(found)


def outage(rt, target: str) -> Outage | None:
    with rt.sessions() as session:
        row = session.get(Outage, f"target:{target}")
        if row is not None:
            session.expunge(row)
        return row


def end_outage_wait(rt, target: str) -> None:
    """Let the held jobs of ``target`` be probed now instead of after the backoff."""
    with rt.sessions.begin() as session:
        session.execute(
            update(Outage)
            .where(Outage.resource == f"target:{target}")
            .values(retry_after=utcnow() - timedelta(seconds=1))
        )


def hold_outage(rt, target: str) -> None:
    """Keep ``target``'s jobs held for the rest of the test, whatever the backoff drew."""
    with rt.sessions.begin() as session:
        session.execute(
            update(Outage)
            .where(Outage.resource == f"target:{target}")
            .values(retry_after=utcnow() + timedelta(hours=1))
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_disk_object_lock_and_cold_tier_all_proven(rt, client, make_token, tmp_path, moto):
    locked = S3(
        "s3-locked",
        "site-b",
        "object-storage",
        moto,
        bucket_name(),
        object_lock=True,
        extra='object_lock = { mode = "COMPLIANCE", days = 1 }\n',
    )
    cold = S3("s3-cold", "site-c", "tape", moto, bucket_name(), extra='storage_class = "GLACIER"\n')
    use(
        rt,
        [Fs("disk", "site-a", "disk", tmp_path / "disk"), locked, cold],
        copies=3,
        sites=3,
        media=3,
    )
    files = {"big.bin": BIG, "公文/通知.txt": "通知\n".encode()}
    sip_id = push(client, make_token(), files)

    drain(rt)

    state, aip_id = sip_state(rt, sip_id)
    assert state == "PRESERVED"
    assert replicas(rt, aip_id) == {
        "disk": "verified",
        "s3-locked": "verified",
        "s3-cold": "verified",
    }
    for path, data in files.items():
        key = aip_key(aip_id, f"data/{path}")
        body = locked.client().get_object(Bucket=locked.bucket, Key=key)["Body"].read()
        assert sha256(body) == sha256(data), "the locked copy holds the payload bytes"
        assert (tmp_path / "disk" / key).read_bytes() == data
        head = locked.client().head_object(Bucket=locked.bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] > utcnow() + timedelta(hours=23)
        assert cold.client().head_object(Bucket=cold.bucket, Key=key)["StorageClass"] == "GLACIER"
    versions, markers = locked.versions()
    assert versions == locked.object_keys() and markers == [], "each object written exactly once"
    with rt.sessions() as session:
        details = {e.target: e.detail for e in events_for(session, "aip", aip_id) if e.target}
    assert "read-back" in details["s3-locked"]
    assert "checksum" in details["s3-cold"], "GLACIER: proven by checksum"
    assert not rt.settings.staging_dir.joinpath(sip_id).exists()


def test_a_down_target_holds_only_its_own_copies(rt, client, make_token, tmp_path):
    down = S3("s3-c", "site-c", "object-storage", MotoServer(), bucket_name(), versioning=True)
    use(
        rt,
        [
            down,
            Fs("disk-a", "site-a", "disk", tmp_path / "a"),
            Fs("disk-b", "site-b", "nas", tmp_path / "b"),
        ],
        copies=3,
        sites=3,
        media=3,
    )
    token = make_token()
    first = push(client, token, {"a.txt": b"first record\n"})

    drain(rt)  # s3-c is first in the profile but its server is not running

    state, first_aip = sip_state(rt, first)
    assert state == "STORED", "two copies of three: stored, not preserved"
    assert replicas(rt, first_aip) == {
        "disk-a": "verified",
        "disk-b": "verified",
        "s3-c": "pending",
    }
    down_since = outage(rt, "s3-c")
    assert down_since is not None and down_since.retry_after > down_since.since
    assert "s3-c" in (down_since.last_error or "")
    hold_outage(rt, "s3-c")

    second = push(client, token, {"b.txt": b"second record\n"})  # ingest goes on
    drain(rt)
    assert sip_state(rt, second)[0] == "STORED"
    assert outage(rt, "s3-c").failures == down_since.failures, "a known-down target is tried last"
    held = jobs(rt, "s3-c")
    assert [j.state for j in held] == [JobState.QUEUED, JobState.QUEUED]
    assert all(j.resource == "target:s3-c" and j.attempts == 0 for j in held)

    down.server.start()
    try:
        down.make_bucket()
        end_outage_wait(rt, "s3-c")
        drain(rt)
        assert sip_state(rt, first)[0] == "PRESERVED"
        assert sip_state(rt, second)[0] == "PRESERVED"
        assert outage(rt, "s3-c") is None, "a successful copy ends the outage"
        assert [(j.state, j.attempts) for j in jobs(rt, "s3-c")] == [(JobState.DONE, 1)] * 2
        versions, markers = down.versions()
        assert versions == down.object_keys() and markers == []
    finally:
        down.server.stop()


def test_waiting_for_a_long_outage_neither_kills_nor_spins(rt, client, make_token, tmp_path):
    dead = S3("s3-gone", "site-c", "object-storage", MotoServer(), bucket_name())
    use(rt, [Fs("disk", "site-a", "disk", tmp_path / "d"), dead], copies=1)
    rt.settings.job_max_attempts = 2
    rt.settings.storage_retry_max_seconds = 20
    sip = push(client, make_token(), {"a.txt": b"x"})
    drain(rt)
    assert sip_state(rt, sip)[0] == "PRESERVED"

    for _ in range(6):  # many probes, each failing: far more than max_attempts
        end_outage_wait(rt, "s3-gone")
        drain(rt)
    (job,) = jobs(rt, "s3-gone")
    assert job.state == JobState.QUEUED, "waiting for storage never makes a job dead"
    assert job.attempts == 0 and job.waits >= 6
    probe = outage(rt, "s3-gone")
    assert probe.failures >= 7
    waited = (probe.retry_after - utcnow()).total_seconds()
    assert rt.settings.storage_retry_max_seconds / 2 - 5 <= waited, "backed off, not spinning"
    assert waited <= rt.settings.storage_retry_max_seconds
    with rt.sessions.begin() as session:
        assert queue.claim(session, "w", 60) is None, "held until the next probe"


def test_a_garbled_upload_is_caught_and_copied_again(rt, client, make_token, tmp_path, moto):
    target = S3("s3", "site-b", "object-storage", moto, bucket_name())
    use(rt, [Fs("disk", "site-a", "disk", tmp_path / "d"), target], copies=2, sites=2)
    events = rt.store("local", "s3")._client.meta.events  # type: ignore[attr-defined]
    events.register("before-send.s3.PutObject", _flip_first_byte, unique_id="garble")
    sip = push(client, make_token(), {"a.txt": b"authentic record\n" * 50})

    drain(rt)

    state, aip_id = sip_state(rt, sip)
    assert state == "STORED"
    assert replicas(rt, aip_id)["s3"] == ReplicaState.FAILED.value
    (job,) = jobs(rt, "s3")
    assert (job.state, job.attempts) == (JobState.QUEUED, 1), "a failed proof is a failed attempt"
    assert "does not match" in job.last_error
    assert outage(rt, "s3") is None, "bad bytes are not an outage"
    with rt.sessions() as session:
        failures = [e for e in events_for(session, "aip", aip_id) if e.outcome == "failure"]
    assert failures and failures[0].target == "s3"

    events.unregister("before-send.s3.PutObject", unique_id="garble")
    with rt.sessions.begin() as session:
        session.execute(update(Job).values(run_after=utcnow()))
    drain(rt)
    assert sip_state(rt, sip)[0] == "PRESERVED"
    key = aip_key(aip_id, "data/a.txt")
    body = target.client().get_object(Bucket=target.bucket, Key=key)["Body"].read()
    assert body == b"authentic record\n" * 50


def _flip_first_byte(request, **_kwargs) -> None:
    body = request.body
    data = body.read() if hasattr(body, "read") else body
    if data:
        request.body = bytes([data[0] ^ 0x01]) + data[1:]


def test_many_small_files_copied_in_parallel_once_each(rt, client, make_token, tmp_path, moto):
    target = S3(
        "s3",
        "site-b",
        "object-storage",
        moto,
        bucket_name(),
        versioning=True,
        extra="max_concurrency = 8\n",
    )
    use(rt, [Fs("disk", "site-a", "disk", tmp_path / "d"), target], copies=2, sites=2)
    files = {f"folder-{i % 3}/record-{i:03}.txt": f"record {i}\n".encode() * i for i in range(60)}
    sip = push(client, make_token(), files)
    drain(rt)
    state, aip_id = sip_state(rt, sip)
    assert state == "PRESERVED"
    versions, markers = target.versions()
    assert versions == target.object_keys() and markers == []
    payload = [k for k in target.object_keys() if "/data/" in k]
    assert len(payload) == len(files)
    assert sorted(payload) == sorted(aip_key(aip_id, f"data/{p}") for p in files)


def test_a_first_target_that_keeps_bad_bytes_is_passed_over(rt, client, make_token, tmp_path, moto):
    target = S3("s3", "site-c", "object-storage", moto, bucket_name())
    use(
        rt,
        [
            target,
            Fs("disk-a", "site-a", "disk", tmp_path / "a"),
            Fs("disk-b", "site-b", "nas", tmp_path / "b"),
        ],
        copies=2,
        sites=2,
    )
    events = rt.store("local", "s3")._client.meta.events  # type: ignore[attr-defined]
    events.register("before-send.s3.PutObject", _flip_first_byte, unique_id="garble")
    sip = push(client, make_token(), {"a.txt": b"record\n"})

    drain(rt)

    state, aip_id = sip_state(rt, sip)
    assert state == "PRESERVED", "the first copy went to the next target"
    assert replicas(rt, aip_id) == {"s3": "failed", "disk-a": "verified", "disk-b": "verified"}
    assert outage(rt, "s3") is None, "bad bytes are not an outage"
    (job,) = jobs(rt, "s3")
    assert job.state == JobState.QUEUED and job.attempts == 1
    with rt.sessions() as session:
        failed = [e.target for e in events_for(session, "aip", aip_id) if e.outcome == "failure"]
    assert failed == ["s3", "s3"], "the refused first copy and the failed replica copy"
