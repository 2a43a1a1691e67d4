"""What ops staff run: storage check, status, reconcile; profile placement per agency."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from preserve.aip.layout import aip_key
from preserve.catalog import queue
from preserve.catalog.models import Agency, Job, JobState, Outage, Replica, ReplicaState
from preserve.catalog.types import utcnow
from preserve.cli.storage import reconcile
from preserve.errors import ConfigurationError, NotFound
from preserve.jobs.worker import drain
from preserve.storage import throttle
from preserve.storage.check import check_profile
from preserve.storage.placement import UnknownProfile, bind_agency, list_profiles, profile_for_sip
from preserve.storage.status import replication_backlog, storage_status
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


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def use(rt, targets, **policy) -> None:
    write_profile(rt.settings.profiles_dir, "local", targets, **policy)
    for t in targets:
        if isinstance(t, S3) and t.server.running:
            t.make_bucket()


# -- reconcile ------------------------------------------------------------------------------


def test_reconcile_finds_strays_and_requeues_missing_copies(rt, client, make_token, tmp_path, moto):
    s3 = S3("s3", "site-b", "object-storage", moto, bucket_name(), versioning=True)
    use(rt, [Fs("disk", "site-a", "disk", tmp_path / "d"), s3], copies=2, sites=2)
    token = make_token()
    first = push(client, token, {"a.txt": b"first\n", "b.txt": b"more\n"})
    second = push(client, token, {"c.txt": b"second\n"})
    drain(rt)
    first_aip, second_aip = sip_state(rt, first)[1], sip_state(rt, second)[1]
    assert reconcile(rt, "s3").missing == []

    c = s3.client()
    c.delete_object(Bucket=s3.bucket, Key=aip_key(first_aip, "data/b.txt"))
    stranger = str(uuid.uuid4())
    c.put_object(Bucket=s3.bucket, Key=aip_key(stranger, "data/x.txt"), Body=b"who?")
    c.put_object(Bucket=s3.bucket, Key=aip_key(second_aip, "data/extra.txt"), Body=b"not ours")
    c.put_object(Bucket=s3.bucket, Key="notes/readme.txt", Body=b"outside the layout")
    c.create_multipart_upload(Bucket=s3.bucket, Key=aip_key(second_aip, "data/half"))

    dry = reconcile(rt, "s3", dry_run=True)
    assert sorted(dry.unknown) == sorted([f"{second_aip}/data/extra.txt", f"{stranger}/data/x.txt"])
    assert [(m.aip_id, m.files_missing, m.example, m.requeued) for m in dry.missing] == [
        (first_aip, 1, "data/b.txt", False)
    ]
    assert dry.other_objects == 1 and dry.aips_expected == 2 and dry.aips_complete == 1
    assert [u["key"] for u in dry.stale_uploads] == [aip_key(second_aip, "data/half")]
    assert sip_state(rt, first)[0] == "PRESERVED", "a dry run changes nothing"

    report = reconcile(rt, "s3", abort_uploads_older_than=timedelta(0))
    assert [m.requeued for m in report.missing] == [True]
    assert report.stale_uploads[0]["aborted"] is True
    assert c.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []
    assert sip_state(rt, first)[0] == "AT_RISK", "one verified copy of two: no longer preserved"
    with rt.sessions() as session:
        replica = session.scalar(
            select(Replica).where(Replica.aip_id == first_aip, Replica.target == "s3")
        )
        assert replica.state == ReplicaState.PENDING
    assert reconcile(rt, "s3", dry_run=True).in_progress == [first_aip]

    drain(rt)

    assert sip_state(rt, first)[0] == "PRESERVED"
    again = reconcile(rt, "s3")
    assert again.missing == [] and again.aips_complete == 2
    body = c.get_object(Bucket=s3.bucket, Key=aip_key(first_aip, "data/b.txt"))["Body"].read()
    assert body == b"more\n"


def test_reconcile_queues_copies_for_a_target_added_later(rt, client, make_token, tmp_path):
    disk = Fs("disk", "site-a", "disk", tmp_path / "d")
    use(rt, [disk, Fs("nas", "site-b", "nas", tmp_path / "n")], copies=2, sites=2)
    sip = push(client, make_token(), {"a.txt": b"kept\n"})
    drain(rt)
    aip_id = sip_state(rt, sip)[1]

    new = Fs("tape", "site-c", "tape", tmp_path / "t")
    use(rt, [disk, Fs("nas", "site-b", "nas", tmp_path / "n"), new], copies=2, sites=2)
    rt.stores.reload()  # as a process started after the profile changed sees it
    report = reconcile(rt, "tape")
    assert [(m.aip_id, m.replica_state, m.requeued) for m in report.missing] == [
        (aip_id, "none", True)
    ]
    drain(rt)
    assert (tmp_path / "t" / aip_key(aip_id, "data/a.txt")).read_bytes() == b"kept\n"
    assert reconcile(rt, "tape").missing == []


def test_reconcile_of_an_unknown_target_is_refused(rt):
    with pytest.raises(ConfigurationError, match="no storage profile in use has a target 'nope'"):
        reconcile(rt, "nope")


# -- status ---------------------------------------------------------------------------------


def test_status_counts_replicas_backlog_outages_and_failures(rt, client, make_token, tmp_path):
    down = S3("s3-down", "site-c", "object-storage", MotoServer(), bucket_name())
    use(rt, [Fs("disk", "site-a", "disk", tmp_path / "d"), down], copies=1)
    token = make_token()
    for n in range(3):
        push(client, token, {f"{n}.txt": b"x" * (n + 1)})
    drain(rt)

    with rt.sessions() as session:
        status = storage_status(session, ["disk", "s3-down", "tape-later"], utcnow())
    by_name = {t.target: t for t in status.targets}
    assert set(by_name) == {"disk", "s3-down", "tape-later"}
    assert (by_name["disk"].verified, by_name["disk"].backlog) == (3, 0)
    assert by_name["disk"].verified_bytes > 0
    s3 = by_name["s3-down"]
    assert (s3.verified, s3.pending, s3.backlog, s3.waiting_on_outage) == (0, 3, 3, 3)
    assert s3.oldest_pending is not None and s3.down_since is not None
    assert "s3-down" in s3.last_error and s3.outage_failures >= 1
    assert by_name["tape-later"].verified == 0
    with rt.sessions() as session:
        assert replication_backlog(session) == {"s3-down": 3}

    with rt.sessions.begin() as session:
        session.execute(update(Outage).values(retry_after=utcnow() - timedelta(seconds=1)))
        job = queue.claim(session, "w", 60)
        queue.fail(session, job.id, "w", "Traceback ...\nIntegrityError: boom", max_attempts=1)
    with rt.sessions() as session:
        status = storage_status(session, [], utcnow())
    (failure,) = status.failures
    assert failure.target == "s3-down" and failure.detail == "IntegrityError: boom"
    assert {t.target: t.dead for t in status.targets}["s3-down"] == 1


# -- check ----------------------------------------------------------------------------------


def test_check_probes_every_kind_of_target(rt, tmp_path, moto):
    versioned = S3("s3-v", "site-b", "object-storage", moto, bucket_name(), versioning=True)
    worm = S3(
        "s3-worm",
        "site-c",
        "worm",
        moto,
        bucket_name(),
        object_lock=True,
        extra='object_lock = { mode = "GOVERNANCE", days = 1 }\n',
    )
    unlocked = S3(
        "s3-claims-lock",
        "site-d",
        "object-storage",
        moto,
        bucket_name(),
        extra='object_lock = { mode = "COMPLIANCE", days = 1 }\n',
    )
    cold = S3("s3-cold", "site-e", "tape", moto, bucket_name(), extra='storage_class = "GLACIER"\n')
    down = S3("s3-down", "site-f", "object-storage", MotoServer(), bucket_name())
    disk = Fs("disk", "site-a", "disk", tmp_path / "disk")
    use(rt, [disk, versioned, worm, unlocked, cold, down], copies=5, sites=5, media=4)
    worm.client().put_object(
        Bucket=worm.bucket, Key="aips/00/00/x/bagit.txt", Body=b"BagIt-Version: 1.0\n"
    )

    result = check_profile(rt.profile(), lambda name: rt.store("local", name))

    by = {t.target: t for t in result.targets}
    assert by["disk"].ok and by["disk"].probe == "write/read/delete ok"
    assert list((tmp_path / "disk").iterdir()) == [], "the probe leaves nothing behind"
    assert by["s3-v"].ok and by["s3-v"].versioning is True
    assert versioned.versions() == ([], []), "the probe's version is deleted, not hidden"
    assert by["s3-worm"].ok and by["s3-worm"].probe.startswith("read-only ok")
    assert len(worm.versions()[0]) == 1, "nothing written to a WORM bucket"
    assert not by["s3-claims-lock"].ok
    assert "has no Object Lock" in by["s3-claims-lock"].problems[0]
    assert by["s3-cold"].ok and by["s3-cold"].verify == "checksum"
    assert by["s3-cold"].probe == "write/delete ok (archive class)"
    assert not by["s3-down"].reachable and not by["s3-down"].ok
    assert "EndpointConnectionError" in by["s3-down"].problems[0]
    assert not result.ok
    assert not result.policy_met_by_healthy_targets, "4 healthy targets cannot make 5 copies"
    assert result.to_dict()["targets"][0]["ok"] is True


# -- placement ------------------------------------------------------------------------------


def test_each_agency_places_under_its_profile_and_admins_may_override(rt, tmp_path):
    profiles = rt.settings.profiles_dir
    write_profile(profiles, "archive-b", [Fs("b", "site-b", "nas", tmp_path / "b")], copies=1)
    (profiles / "broken.toml").write_text('name = "broken"\ncolour = "red"\n', encoding="utf-8")
    with rt.sessions.begin() as session:
        agency = Agency(name="city-office")
        session.add(agency)
        session.flush()
        assert profile_for_sip(rt.stores, agency) == "local"
        assert profile_for_sip(rt.stores, agency, "archive-b") == "archive-b"
        bind_agency(session, rt.stores, "city-office", "archive-b")
        assert profile_for_sip(rt.stores, agency) == "archive-b"
        for bad in ("../local", "/etc/passwd", "local.toml"):
            with pytest.raises(UnknownProfile, match="not a path"):
                profile_for_sip(rt.stores, agency, bad)
        with pytest.raises(UnknownProfile, match="'broken' cannot be used"):
            profile_for_sip(rt.stores, agency, "broken")
        with pytest.raises(UnknownProfile, match="'missing' cannot be used"):
            profile_for_sip(rt.stores, agency, "missing")
        with pytest.raises(NotFound):
            bind_agency(session, rt.stores, "no-such-agency", "local")
        with pytest.raises(ConfigurationError):
            bind_agency(session, rt.stores, "city-office", "missing")

        entries = {e.name: e for e in list_profiles(session, rt.stores)}
        assert entries["archive-b"].agencies == ["city-office"]
        assert entries["local"].is_default and entries["local"].agencies == []
        assert "unknown key" in entries["broken"].error

        bind_agency(session, rt.stores, "city-office", None)
        assert profile_for_sip(rt.stores, agency) == "local"


# -- pacing ---------------------------------------------------------------------------------


def test_pacer_spreads_bytes_over_time(monkeypatch):
    clock = {"now": 100.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(throttle.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(throttle.time, "sleep", sleep)
    pacer = throttle.Pacer(1_000_000)
    for _ in range(10):
        pacer.take(250_000)
    assert sum(slept) == pytest.approx(2.5 - 0.5, abs=0.01), "10 × 250 kB at 1 MB/s, 0.5 s burst"
    assert throttle.pacer_for("t", None) is None
    assert throttle.pacer_for("t", 2).rate == 2_000_000
    assert throttle.pacer_for("t", 2) is throttle.pacer_for("t", 2)


def test_a_paced_copy_still_arrives_whole(rt, client, make_token, tmp_path, moto):
    s3 = S3("s3", "site-b", "object-storage", moto, bucket_name(), extra="max_write_mbps = 50\n")
    use(rt, [Fs("disk", "site-a", "disk", tmp_path / "d"), s3], copies=2, sites=2)
    data = bytes(range(256)) * 4096
    sip = push(client, make_token(), {"paced.bin": data})
    drain(rt)
    state, aip_id = sip_state(rt, sip)
    assert state == "PRESERVED"
    body = s3.client().get_object(Bucket=s3.bucket, Key=aip_key(aip_id, "data/paced.bin"))
    assert body["Body"].read() == data


def test_a_job_waiting_on_storage_names_no_outage_when_the_source_failed(rt, tmp_path):
    use(rt, [Fs("disk", "site-a", "disk", tmp_path / "d")], copies=1)
    with rt.sessions.begin() as session:
        job = queue.enqueue(session, "storage.replicate", {}, resource="target:disk")
        queue.claim(session, "w", 60)
        queue.retry_later(session, job.id, "w", "source gone", store_down=False)
    with rt.sessions() as session:
        assert session.get(Outage, "target:disk") is None
        row = session.get(Job, job.id)
        assert (row.state, row.attempts, row.waits) == (JobState.QUEUED, 0, 1)
        assert row.run_after > utcnow()


def test_reconcile_leaves_a_first_copy_in_progress_to_its_job(rt, client, make_token):
    """The first copy goes to whichever target takes it (its job names no target): a bag half
    there, or not yet there, is that job's while it is queued or running, not a lost copy."""
    from preserve.jobs.worker import run_one

    sip = push(client, make_token(), {"a.txt": b"first copy\n"})
    assert run_one(rt, "w", ["ingest.process"])  # packaged; the first copy waits
    aip_id = sip_state(rt, sip)[1]

    report = reconcile(rt, "site-a-disk")

    assert report.in_progress == [aip_id] and report.missing == []
    with rt.sessions() as session:
        queued = session.scalars(select(Job.kind).where(Job.kind.startswith("storage.")))
        assert list(queued) == ["storage.store"], "no second writer queued beside it"
    drain(rt)
    assert sip_state(rt, sip)[0] == "PRESERVED"
