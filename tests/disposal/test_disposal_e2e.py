"""End to end with two filesystem sites and an S3 target (moto's server, versioning and
Object Lock in governance mode on): 10-year records fall due on a simulated clock, a batch is
refused to its proposer and approved by an appraiser; afterwards no object version of those
AIPs exists on any target, the tombstones and the signed destruction list do, audits and
reconcile stay quiet, and a catalogue rebuilt from the S3 target lists them as destroyed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from disposal.disposal_support import (
    AFTER_DUE,
    BEFORE_DUE,
    approve,
    destroy,
    files_of,
    people,
    propose,
    record,
    set_clock,
)
from preserve.audit.auditor import AuditOutcome
from preserve.audit.service import Selection
from preserve.catalog.db import upgrade
from preserve.catalog.models import Alert
from preserve.cli.catalog import run_catalog_rebuild
from preserve.cli.storage import reconcile
from preserve.jobs.tasks.audit import run_audits
from preserve.settings import Settings
from storage.replication_support import CREDENTIALS, S3, Fs, bucket_name, write_profile
from support.server import cli_env, run_cli

pytestmark = pytest.mark.slow  # a moto server per module


@pytest.fixture
def lock_mode() -> str:
    return "GOVERNANCE"


@pytest.fixture
def s3_target(moto, lock_mode: str) -> S3:
    target = S3(
        "s3-c",
        "site-c",
        "object-storage",
        moto,
        bucket_name("disposal"),
        versioning=True,
        object_lock=True,
        extra=f'object_lock = {{ mode = "{lock_mode}", days = 3650 }}\n',
    )
    target.make_bucket()
    return target


@pytest.fixture
def settings(tmp_path: Path, database_url: str, s3_target: S3, monkeypatch) -> Settings:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    stores = tmp_path / "stores"
    targets = [
        Fs("site-a-disk", "site-a", "disk", stores / "site-a-disk"),
        Fs("site-b-nas", "site-b", "nas", stores / "site-b-nas"),
        s3_target,
    ]
    write_profile(tmp_path / "profiles", "local", targets, copies=3, sites=3, media=3)
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        profiles_dir=tmp_path / "profiles",
        storage_profile="local",
        identify_workers=1,
        _env_file=None,
    )


def versions_of(target: S3, aip_id: str) -> list[str]:
    versions, markers = target.versions()
    return [k for k in versions + markers if f"/{aip_id}/" in k]


def lock_dates(target: S3, aip_id: str) -> set[datetime]:
    s3 = target.client()
    keys = [k for k in target.object_keys() if f"/{aip_id}/" in k]
    assert keys
    return {s3.head_object(Bucket=target.bucket, Key=k)["ObjectLockRetainUntilDate"] for k in keys}


def wipe_database(rt) -> None:
    url = rt.settings.sqlalchemy_url
    rt.engine.dispose()
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink()
    else:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def test_destruction_everywhere_proved_and_kept(rt, client, make_token, s3_target, tmp_path):
    who = people(make_token)
    doomed = [record(rt, client, make_token) for _ in range(2)]
    kept = record(rt, client, make_token, retention="permanent")
    fs_roots = [tmp_path / "stores" / "site-a-disk", tmp_path / "stores" / "site-b-nas"]
    assert all(versions_of(s3_target, a) for a in doomed)
    # 10-year records are locked until their retention ends; the permanent one as the profile says
    assert lock_dates(s3_target, doomed[0]) == {datetime(2031, 1, 1, tzinfo=UTC)}
    assert min(lock_dates(s3_target, kept)) > datetime(2035, 1, 1, tzinfo=UTC)

    set_clock(rt, BEFORE_DUE)
    assert client.get("/v1/appraisals/due", headers=who.officer).json()["records"] == []
    set_clock(rt, AFTER_DUE)
    due = client.get("/v1/appraisals/due", headers=who.officer).json()["records"]
    assert sorted(r["aip_id"] for r in due) == sorted(doomed)

    batch = propose(client, who.officer, *map(destroy, doomed))
    own = client.post(f"/v1/appraisals/{batch['id']}/approve", headers=who.officer)
    assert own.status_code == 403 and "proposer" in own.json()["detail"]
    done = approve(rt, client, who.appraiser, batch["id"])
    assert done["state"] == "done", done
    for decision in done["decisions"]:
        assert decision["outcome"] == "destroyed"
        assert set(decision["deletions"]) == {"site-a-disk", "site-b-nas", "s3-c"}

    for aip_id in doomed:  # no object, no version, no delete marker, anywhere
        assert versions_of(s3_target, aip_id) == []
        assert all(files_of(root / "aips", aip_id) == [] for root in fs_roots)
        tomb = f"disposal/tombstones/{aip_id}.json"
        assert tomb in s3_target.object_keys()
        assert all((root / tomb).is_file() for root in fs_roots)
        assert client.get(f"/v1/aips/{aip_id}", headers=who.officer).status_code == 410
    kept_list = f"disposal/lists/{batch['id']}.json"
    assert kept_list in s3_target.object_keys()
    assert all((root / kept_list).is_file() for root in fs_roots)
    assert versions_of(s3_target, kept)

    listing = client.get(f"/v1/appraisals/{batch['id']}/destruction-list", headers=who.officer)
    stored = json.loads((fs_roots[0] / kept_list).read_text(encoding="utf-8"))
    assert stored["report"]["records"] == listing.json()["report"]["records"]
    signed = tmp_path / "destruction-list.json"
    signed.write_text(listing.text, encoding="utf-8")
    env = cli_env(rt.settings.data_dir, rt.settings.sqlalchemy_url, rt.settings.profiles_dir)
    checked = run_cli(env, "report", "verify", str(signed))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    edited = json.loads(listing.text)
    edited["report"]["approver"] = "someone else"
    signed.write_text(json.dumps(edited), encoding="utf-8")
    assert run_cli(env, "report", "verify", str(signed)).returncode == 1

    shown = run_cli(env, "appraisal", "show", batch["id"], "--format", "json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["state"] == "done", shown.stderr
    due_csv = run_cli(env, "appraisal", "due", "--as-of", "2031-01-02", "--format", "csv")
    assert due_csv.returncode == 0 and due_csv.stdout.count("\n") == 1, due_csv.stdout  # header
    unknown = run_cli(env, "appraisal", "show", "no-such-batch")
    assert unknown.returncode != 0 and "no appraisal" in unknown.stderr

    audits = run_audits(rt, Selection()).audits  # quiet: only the kept record is audited
    assert {(a.aip_id, a.outcome) for a in audits} == {(kept, AuditOutcome.OK)}
    for target in ("site-a-disk", "site-b-nas", "s3-c"):
        report = reconcile(rt, target)
        assert report.missing == [] and report.unknown == [], report
    with rt.sessions() as session:
        assert session.scalars(select(Alert)).all() == []

    wipe_database(rt)  # the catalogue is lost; the S3 target rebuilds it
    rebuilt = run_catalog_rebuild(rt, "s3-c")
    assert rebuilt.aips_catalogued == 1 and rebuilt.destroyed == 2, rebuilt
    assert rebuilt.unverifiable == []
    officer = people(make_token).officer
    assert client.get(f"/v1/aips/{doomed[0]}", headers=officer).status_code == 410
    assert client.get(f"/v1/aips/{kept}", headers=officer).status_code == 200
    destroyed = run_cli(env, "appraisal", "list-destroyed", "--format", "json")
    assert destroyed.returncode == 0, destroyed.stderr
    records = json.loads(destroyed.stdout)["records"]
    assert sorted(r["aip_id"] for r in records) == sorted(doomed)
    assert {r["appraisal_id"] for r in records} == {batch["id"]}


@pytest.mark.parametrize("lock_mode", ["COMPLIANCE"])
def test_a_target_that_refuses_is_reported_never_skipped(rt, client, make_token, s3_target):
    who = people(make_token)
    aip_id = record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    batch = propose(client, who.officer, destroy(aip_id))
    stuck = approve(rt, client, who.appraiser, batch["id"])
    assert stuck["state"] == "destroying", stuck
    decision = stuck["decisions"][0]
    assert decision["outcome"] == "refused" and "s3-c" in decision["problem"]
    assert "s3-c" not in decision["deletions"]
    assert versions_of(s3_target, aip_id)  # the locked copy is still there, and says so
    assert client.get(f"/v1/aips/{aip_id}", headers=who.officer).status_code == 200
    assert client.get("/v1/appraisals/destroyed", headers=who.officer).json()["records"] == []
    assert "disposal/tombstones/" not in " ".join(s3_target.object_keys())
    with rt.sessions() as session:
        alerts = session.scalars(select(Alert)).all()
        assert [(a.kind, a.target, a.aip_id) for a in alerts] == [
            ("destruction-refused", "s3-c", aip_id)
        ]
