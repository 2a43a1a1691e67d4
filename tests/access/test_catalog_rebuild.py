"""Rebuilding the catalogue from one store: the API answers as before, field by field, except
for what the report lists as lost or approximated; a bag that does not verify is left out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from recovery_fixtures import flip_byte, ingest, replica_dir, tokens
from sqlalchemy import create_engine, select, text

from preserve.access.rebuild_catalog import LOST, RebuildOptions
from preserve.catalog.db import upgrade
from preserve.catalog.models import Aip, Event, Job, Role, Sip
from preserve.cli.catalog import run_catalog_rebuild as rebuild_catalog
from preserve.errors import Conflict
from preserve.jobs.worker import drain
from preserve.runtime import Runtime
from support.http import auth

FILES = {"公文/通知.txt": "通知\n".encode() * 50, "b.csv": b"a,b\n1,2\n"}

# Fields of the API's answers that no bag carries, and the entry of the report that says so.
EXPECTED_DIFFERENCES = {
    "sip.updated_at": "SIP updated_at",
    "aip.replicas.verified_time": "replica history",
    "aip.replicas.last_audit_time": "replica history",
    "aip.replicas.last_audit_outcome": "replica history",
}


@pytest.fixture
def holdings(rt, client, make_token) -> list[str]:
    who = tokens(make_token)
    aips = [
        ingest(rt, client, who["submitter"], FILES, archival_code="A001-WS-2024-Y-0011"),
        ingest(
            rt,
            client,
            who["other"],
            {"x.txt": b"x"},
            archival_code="B001-WS-2024-Y-0012",
            title="其他",
        ),
        ingest(
            rt,
            client,
            who["submitter"],
            {"y/z.txt": b"yz" * 10},
            archival_code="A001-WS-2024-Y-0013",
        ),
    ]
    from preserve.jobs.tasks.audit import audit_all

    assert {a.outcome.value for a in audit_all(rt)} == {"ok"}
    return [a["id"] for a in aips]


def answers(client, token: str, aip_ids: list[str]) -> dict[str, dict]:
    result = {}
    for aip_id in aip_ids:
        aip = client.get(f"/v1/aips/{aip_id}", headers=auth(token)).json()
        sip = client.get(f"/v1/sips/{aip['sip_id']}", headers=auth(token)).json()
        result[aip_id] = {"aip": aip, "sip": sip}
    return result


def differences(before, after, path: str = "") -> dict[str, tuple]:
    """Every leaf that differs, keyed by its path with list indexes dropped."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = {}
        for key in before.keys() | after.keys():
            out.update(differences(before.get(key), after.get(key), f"{path}.{key}".lstrip(".")))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = {}
        for b, a in zip(before, after, strict=True):
            out.update(differences(b, a, path))
        return out
    return {} if before == after else {path: (before, after)}


def events_of(rt, object_ids: list[str]) -> dict[str, list[tuple]]:
    """Each object's events in the order the catalogue gives them."""
    with rt.sessions() as session:
        return {
            object_id: [
                (e.uuid, e.type, e.outcome, e.detail, e.agent, e.target, e.created_at)
                for e in session.scalars(
                    select(Event).where(Event.object_id == object_id).order_by(Event.id)
                )
            ]
            for object_id in object_ids
        }


def wipe_database(rt: Runtime) -> None:
    """The database is lost: an empty one with the schema takes its place."""
    url = rt.settings.sqlalchemy_url
    rt.engine.dispose()
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def test_the_api_answers_the_same_field_by_field(rt, client, make_token, holdings):
    before = answers(client, make_token("archive", Role.OFFICER), holdings)
    with rt.sessions() as session:
        sip_ids = [session.get_one(Aip, a).sip_id for a in holdings]
    events_before = events_of(rt, sip_ids)
    wipe_database(rt)

    report = rebuild_catalog(rt, "site-b-nas")

    assert (report.aips_in_store, report.aips_catalogued, report.unverifiable) == (3, 3, [])
    assert report.agencies == 2 and report.files == 4
    assert report.replicas == {"site-b-nas": 3, "site-a-disk": 3}
    assert report.lost == LOST
    after = answers(client, make_token("archive", Role.OFFICER), holdings)
    diffs = {}
    for aip_id in holdings:
        diffs.update(differences(before[aip_id], after[aip_id]))
    expected = dict(EXPECTED_DIFFERENCES)
    assert "AIP created_at" not in report.approximated  # the bag carries it
    assert set(diffs) == set(expected), diffs
    for field, entry in expected.items():
        assert entry in report.lost or entry in report.approximated, field
    assert events_of(rt, sip_ids) == events_before
    assert {a["sip"]["state"] for a in after.values()} == {"PRESERVED"}


def test_a_bag_that_does_not_verify_is_left_out_and_named(rt, client, make_token, holdings):
    flip_byte(replica_dir(rt, holdings[1], "site-b-nas") / "metadata" / "record.json", 5)
    wipe_database(rt)

    report = rebuild_catalog(rt, "site-b-nas")

    assert report.aips_catalogued == 2
    reason = "metadata/record.json does not match the signed tag manifest"
    assert report.unverifiable == [{"aip_id": holdings[1], "reason": reason}]
    officer = auth(make_token("archive", Role.OFFICER))
    assert client.get(f"/v1/aips/{holdings[1]}", headers=officer).status_code == 404
    assert client.get(f"/v1/aips/{holdings[0]}", headers=officer).status_code == 200


def test_a_full_catalogue_is_refused_and_resume_adds_only_what_is_missing(rt, holdings):
    with pytest.raises(Conflict, match="empty"):
        rebuild_catalog(rt, "site-b-nas")
    record = replica_dir(rt, holdings[2], "site-b-nas") / "metadata" / "record.json"
    good = record.read_bytes()
    flip_byte(record)
    wipe_database(rt)
    first = rebuild_catalog(rt, "site-b-nas")
    assert first.aips_catalogued == 2 and len(first.unverifiable) == 1

    record.write_bytes(good)
    second = rebuild_catalog(rt, "site-b-nas", options=RebuildOptions(resume=True))

    assert (second.already_catalogued, second.aips_catalogued, second.unverifiable) == (2, 1, [])


def test_a_missing_copy_elsewhere_is_queued_for_replication(rt, client, make_token, holdings):
    shutil.rmtree(replica_dir(rt, holdings[0], "site-a-disk"))
    wipe_database(rt)

    report = rebuild_catalog(rt, "site-b-nas")

    assert report.replicas == {"site-b-nas": 3, "site-a-disk": 2}
    assert report.replication_queued == 1
    officer = auth(make_token("archive", Role.OFFICER))
    aip = client.get(f"/v1/aips/{holdings[0]}", headers=officer).json()
    assert {r["target"]: r["state"] for r in aip["replicas"]} == {
        "site-a-disk": "pending",
        "site-b-nas": "verified",
    }
    assert client.get(f"/v1/sips/{aip['sip_id']}", headers=officer).json()["state"] == "AT_RISK"
    with rt.sessions() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "storage.replicate")).all()
        assert [j.payload for j in jobs] == [{"aip_id": holdings[0], "target": "site-a-disk"}]
    drain(rt)
    aip = client.get(f"/v1/aips/{holdings[0]}", headers=officer).json()
    assert {r["state"] for r in aip["replicas"]} == {"verified"}
    assert client.get(f"/v1/sips/{aip['sip_id']}", headers=officer).json()["state"] == "PRESERVED"


def test_without_probing_only_the_source_copy_is_known(rt, holdings):
    wipe_database(rt)
    report = rebuild_catalog(rt, "site-a-disk", options=RebuildOptions(probe=False))
    assert report.replicas == {"site-a-disk": 3} and report.replication_queued == 0


def test_deep_rehashes_the_payload(rt, holdings):
    flip_byte(replica_dir(rt, holdings[0], "site-b-nas") / "data" / "b.csv", 1)
    wipe_database(rt)
    shallow = rebuild_catalog(rt, "site-b-nas", options=RebuildOptions(probe=False))
    assert shallow.unverifiable == []  # same size: only a re-hash sees it
    wipe_database(rt)
    deep = rebuild_catalog(rt, "site-b-nas", options=RebuildOptions(probe=False, deep=True))
    assert [u["aip_id"] for u in deep.unverifiable] == [holdings[0]]
    assert "data/b.csv" in deep.unverifiable[0]["reason"]


def test_lost_keys_need_the_embedded_ones_and_say_so(rt, holdings):
    shutil.rmtree(rt.settings.keys_dir)
    wipe_database(rt)
    fresh = Runtime(rt.settings)  # makes a new archive key, which signed nothing
    try:
        refused = rebuild_catalog(fresh, "site-b-nas")
        assert refused.aips_catalogued == 0 and len(refused.unverifiable) == 3
        assert "unknown key" in refused.unverifiable[0]["reason"]
        wipe_database(fresh)
        embedded = rebuild_catalog(
            fresh, "site-b-nas", options=RebuildOptions(trust_embedded_keys=True)
        )
        assert embedded.aips_catalogued == 3
    finally:
        fresh.close()


def sip_states(rt, aip_ids: list[str]) -> dict[str, str]:
    with rt.sessions() as session:
        return {a: session.get_one(Sip, session.get_one(Aip, a).sip_id).state for a in aip_ids}


def at_risk_warnings(rt, aip_id: str) -> list[str]:
    with rt.sessions() as session:
        return [
            e.detail
            for e in session.scalars(select(Event).where(Event.object_id == aip_id))
            if e.outcome == "warning" and e.detail.startswith("AT RISK")
        ]


def test_a_copy_lost_on_one_of_two_required_targets_comes_back_at_risk(rt, holdings):
    shutil.rmtree(replica_dir(rt, holdings[1], "site-b-nas"))
    wipe_database(rt)

    report = rebuild_catalog(rt, "site-a-disk")

    assert report.replicas == {"site-a-disk": 3, "site-b-nas": 2}
    assert sip_states(rt, holdings) == {
        holdings[0]: "PRESERVED",
        holdings[1]: "AT_RISK",
        holdings[2]: "PRESERVED",
    }
    [warning] = at_risk_warnings(rt, holdings[1])
    assert "(site-a-disk)" in warning and "missing or damaged on site-b-nas" in warning
    assert at_risk_warnings(rt, holdings[0]) == []
    drain(rt)  # the queued copy proves the policy again
    assert set(sip_states(rt, holdings).values()) == {"PRESERVED"}


def test_deep_finds_a_damaged_copy_elsewhere_and_the_aip_comes_back_at_risk(rt, holdings):
    flip_byte(replica_dir(rt, holdings[0], "site-b-nas") / "data" / "b.csv", 1)
    wipe_database(rt)
    shallow = rebuild_catalog(rt, "site-a-disk")
    assert shallow.replicas == {"site-a-disk": 3, "site-b-nas": 3}  # same size: looks whole
    assert set(sip_states(rt, holdings).values()) == {"PRESERVED"}
    wipe_database(rt)

    deep = rebuild_catalog(rt, "site-a-disk", options=RebuildOptions(deep=True))

    assert (deep.aips_catalogued, deep.unverifiable) == (3, [])
    assert deep.replicas == {"site-a-disk": 3, "site-b-nas": 2}
    assert deep.replication_queued == 1
    assert sip_states(rt, holdings)[holdings[0]] == "AT_RISK"
    assert {s for a, s in sip_states(rt, holdings).items() if a != holdings[0]} == {"PRESERVED"}
    assert len(at_risk_warnings(rt, holdings[0])) == 1


def test_without_probing_the_policy_is_not_proven(rt, holdings):
    wipe_database(rt)
    rebuild_catalog(rt, "site-a-disk", options=RebuildOptions(probe=False))
    assert set(sip_states(rt, holdings).values()) == {"AT_RISK"}
