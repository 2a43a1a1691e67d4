"""Appraisal on expiry with two filesystem sites (the default test profile): the clock, the
due list, two-person approval, destruction proved on every target, holds, a target that is
down, permanent records, and hostile bodies."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

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
from preserve.audit.signed import verify_report
from preserve.catalog.disposal_models import Appraisal
from preserve.catalog.models import Aip, Event, Job
from preserve.catalog.types import utcnow
from preserve.jobs.worker import drain


def stores(rt) -> list[Path]:
    root = rt.settings.profiles_dir.parent / "stores"
    return [root / "site-a-disk", root / "site-b-nas"]


def events(rt, aip_id: str) -> list[tuple[str, str, str | None]]:
    with rt.sessions() as session:
        rows = session.scalars(select(Event).where(Event.object_id == aip_id).order_by(Event.id))
        return [(e.type, e.outcome, e.target) for e in rows]


def retention(rt, aip_id: str) -> str | None:
    with rt.sessions() as session:
        return session.get(Aip, aip_id).retention


def test_records_fall_due_on_the_simulated_clock(rt, client, make_token):
    who = people(make_token)
    ten = record(rt, client, make_token, fonds="A001")
    thirty = record(rt, client, make_token, retention="30y")
    record(rt, client, make_token, retention="permanent")
    set_clock(rt, BEFORE_DUE)
    assert client.get("/v1/appraisals/due", headers=who.officer).json()["records"] == []
    set_clock(rt, AFTER_DUE)
    due = client.get("/v1/appraisals/due", headers=who.officer).json()
    assert due["as_of"] == "2031-01-02"
    assert [(r["aip_id"], r["due_on"], r["held"]) for r in due["records"]] == [
        (ten, "2031-01-01", False)
    ]
    later = client.get("/v1/appraisals/due?as_of=2051-01-01T00:00:00Z", headers=who.officer)
    assert {r["aip_id"] for r in later.json()["records"]} == {ten, thirty}
    assert client.get("/v1/appraisals/due?fonds=A001", headers=who.officer).json()["records"]
    assert not client.get("/v1/appraisals/due?year=1999", headers=who.officer).json()["records"]
    assert not client.get("/v1/appraisals/due?agency=nobody", headers=who.officer).json()["records"]
    text = client.get("/v1/appraisals/due?format=csv", headers=who.officer).text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "档号 Archival code" and len(rows) == 2
    page = client.get("/v1/appraisals/due?format=html", headers=who.officer).text
    assert "到期档案" in page and "Records due" in page
    assert client.get("/v1/appraisals/due", headers=who.submitter).status_code == 403


def test_destruction_needs_a_second_person_and_leaves_nothing(rt, client, make_token):
    who = people(make_token)
    doomed = [record(rt, client, make_token) for _ in range(2)]
    kept = record(rt, client, make_token)
    set_clock(rt, BEFORE_DUE)
    early = client.post(
        "/v1/appraisals", json={"decisions": [destroy(doomed[0])]}, headers=who.officer
    )
    assert early.status_code == 400 and early.json()["type"].endswith("/retention-not-ended")
    set_clock(rt, AFTER_DUE)
    batch = propose(client, who.officer, *map(destroy, doomed))
    assert batch["state"] == "proposed" and set(batch) >= {"id", "state"}
    for headers in (who.officer, who.officer2, who.submitter):  # the proposer, another officer
        refused = client.post(f"/v1/appraisals/{batch['id']}/approve", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert all(files_of(s, doomed[0]) for s in stores(rt))  # nothing changed yet

    done = approve(rt, client, who.appraiser, batch["id"])
    assert done["state"] == "done", done
    assert {d["outcome"] for d in done["decisions"]} == {"destroyed"}
    assert set(done["decisions"][0]["deletions"]) == {"site-a-disk", "site-b-nas"}
    for root in stores(rt):
        for aip_id in doomed:
            assert files_of(root / "aips", aip_id) == []
            assert (root / "disposal" / "tombstones" / f"{aip_id}.json").is_file()
        assert files_of(root / "aips", kept)
    gone = client.get(f"/v1/aips/{doomed[0]}", headers=who.officer)
    assert gone.status_code == 410, gone.text
    assert gone.json()["tombstone"]["appraisal_id"] == batch["id"]
    assert client.get(f"/v1/aips/{kept}", headers=who.officer).status_code == 200
    assert ("deletion", "success", "site-b-nas") in events(rt, doomed[0])
    assert ("deletion", "success", None) in events(rt, doomed[0])

    signed = client.get(f"/v1/appraisals/{batch['id']}/destruction-list", headers=who.officer)
    envelope = signed.json()
    verify_report(envelope, rt.trusted_keys())
    assert [r["aip_id"] for r in envelope["report"]["records"]] == doomed
    envelope["report"]["records"][0]["reason"] = "edited"
    try:
        verify_report(envelope, rt.trusted_keys())
    except Exception as exc:
        assert "does not match" in str(exc)
    else:
        raise AssertionError("an edited destruction list verified")
    csv_text = client.get(
        f"/v1/appraisals/{batch['id']}/destruction-list?format=csv", headers=who.officer
    ).text
    assert "档号 Archival code" in csv_text and "site-a-disk" in csv_text
    page = client.get(
        f"/v1/appraisals/{batch['id']}/destruction-list?format=html", headers=who.officer
    ).text
    assert page.index("销毁清册") < page.index("Destruction list")
    again = client.post(f"/v1/appraisals/{batch['id']}/approve", headers=who.admin)
    assert again.status_code == 409


def test_a_permanent_record_never_enters_a_destruction_batch(rt, client, make_token):
    who = people(make_token)
    forever = record(rt, client, make_token, retention="permanent", date="1990-01-01")
    set_clock(rt, AFTER_DUE)
    response = client.post(
        "/v1/appraisals", json={"decisions": [destroy(forever)]}, headers=who.officer
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"].endswith("/permanent-record") and forever in body["detail"]
    assert client.get("/v1/appraisals", headers=who.officer).json()["appraisals"] == []


def test_extend_and_permanent_are_policy_assignments_after_approval(rt, client, make_token):
    who = people(make_token)
    longer, forever = record(rt, client, make_token), record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    batch = propose(
        client,
        who.officer,
        {"aip_id": longer, "decision": "extend", "retention": "30年", "reason": "still used"},
        {"aip_id": forever, "decision": "permanent", "reason": "historical value"},
    )
    assert retention(rt, longer) == "10y"
    done = approve(rt, client, who.admin, batch["id"])
    assert done["state"] == "done"
    assert retention(rt, longer) == "30y" and retention(rt, forever) == "permanent"
    assert ("policy assignment", "success", None) in events(rt, forever)
    due = {
        r["aip_id"] for r in client.get("/v1/appraisals/due", headers=who.officer).json()["records"]
    }
    assert due == set()
    now_permanent = client.post(
        "/v1/appraisals", json={"decisions": [destroy(forever)]}, headers=who.officer
    )
    assert now_permanent.status_code == 400


def test_a_rejected_batch_changes_nothing(rt, client, make_token):
    who = people(make_token)
    aip_id = record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    batch = propose(client, who.officer, destroy(aip_id))
    assert (
        client.post(f"/v1/appraisals/{batch['id']}/reject", headers=who.officer).status_code == 403
    )
    rejected = client.post(
        f"/v1/appraisals/{batch['id']}/reject", json={"reason": "keep it"}, headers=who.appraiser
    )
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    drain(rt)
    assert client.get(f"/v1/aips/{aip_id}", headers=who.officer).status_code == 200
    assert all(files_of(s / "aips", aip_id) for s in stores(rt))
    assert (
        client.post(f"/v1/appraisals/{batch['id']}/approve", headers=who.appraiser).status_code
        == 409
    )
    again = propose(client, who.officer, destroy(aip_id))  # a rejected batch blocks nothing
    with rt.sessions.begin() as session:  # 91 days pass undecided: the proposal expires
        session.get(Appraisal, again["id"]).proposed_at = utcnow() - timedelta(days=91)
    late = client.post(f"/v1/appraisals/{again['id']}/approve", headers=who.appraiser)
    assert late.status_code == 409 and "expired" in late.json()["detail"]
    assert client.get(f"/v1/appraisals/{again['id']}", headers=who.officer).json()["state"] == (
        "expired"
    )
    drain(rt)
    assert client.get(f"/v1/aips/{aip_id}", headers=who.officer).status_code == 200
    propose(client, who.officer, destroy(aip_id))  # nor does an expired one


def test_a_held_record_is_kept_until_the_hold_is_released(rt, client, make_token):
    who = people(make_token)
    held, free = record(rt, client, make_token, fonds="F9"), record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    hold = client.post(
        "/v1/holds",
        json={"scope": "fonds", "value": "F9", "reason": "litigation 2031-17"},
        headers=who.officer,
    )
    assert hold.status_code == 201, hold.text
    due = client.get("/v1/appraisals/due", headers=who.officer).json()["records"]
    assert {r["aip_id"]: r["held"] for r in due} == {held: True, free: False}
    batch = propose(client, who.officer, destroy(held), destroy(free))
    done = approve(rt, client, who.appraiser, batch["id"])
    outcomes = {d["aip_id"]: d["outcome"] for d in done["decisions"]}
    assert outcomes == {held: "held", free: "destroyed"}
    assert client.get(f"/v1/aips/{held}", headers=who.officer).status_code == 200
    assert all(files_of(s / "aips", held) for s in stores(rt))
    assert ("hold", "success", None) in events(rt, "F9")

    assert client.delete(f"/v1/holds/{hold.json()['id']}", headers=who.officer).status_code == 200
    assert client.delete(f"/v1/holds/{hold.json()['id']}", headers=who.officer).status_code == 409
    assert ("hold release", "success", None) in events(rt, "F9")
    assert (
        client.post(f"/v1/appraisals/{batch['id']}/approve", headers=who.officer).status_code == 403
    )
    again = approve(rt, client, who.appraiser, batch["id"])
    assert {d["outcome"] for d in again["decisions"]} == {"destroyed"}
    assert client.get(f"/v1/aips/{held}", headers=who.officer).status_code == 410
    assert not any(files_of(s / "aips", held) for s in stores(rt))


def test_a_target_down_delays_the_destruction_and_never_ends_it_half_done(rt, client, make_token):
    who = people(make_token)
    aip_id = record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    batch = propose(client, who.officer, destroy(aip_id))
    site_b = stores(rt)[1]
    away = site_b.with_name("site-b-unplugged")
    site_b.rename(away)  # the NAS is gone
    try:
        waiting = approve(rt, client, who.appraiser, batch["id"])
        assert waiting["state"] == "destroying", waiting
        decision = waiting["decisions"][0]
        assert decision["outcome"] == "destroying"
        assert set(decision["deletions"]) == {"site-a-disk"}
        assert client.get(f"/v1/aips/{aip_id}", headers=who.officer).status_code == 200
        assert client.get("/v1/appraisals/destroyed", headers=who.officer).json()["records"] == []
        with rt.sessions() as session:
            job = session.scalar(select(Job).where(Job.kind == "disposal.destroy"))
            assert job.state.value == "queued" and job.attempts == 0 and job.waits >= 1
    finally:
        away.rename(site_b)
    with rt.sessions.begin() as session:  # the backoff has passed
        session.execute(update(Job).values(run_after=utcnow()))
    drain(rt)
    done = client.get(f"/v1/appraisals/{batch['id']}", headers=who.officer).json()
    assert done["state"] == "done"
    assert set(done["decisions"][0]["deletions"]) == {"site-a-disk", "site-b-nas"}
    assert not files_of(site_b / "aips", aip_id)
    assert client.get(f"/v1/aips/{aip_id}", headers=who.officer).status_code == 410


def test_hostile_bodies_are_clean_problems(rt, client, make_token):
    who = people(make_token)
    aip_id = record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    bad = [
        {"decisions": []},
        {"decisions": [{"aip_id": aip_id, "decision": "burn", "reason": "x"}]},
        {"decisions": [{"aip_id": aip_id, "decision": "destroy", "reason": "  "}]},
        {"decisions": [{"aip_id": aip_id, "decision": "destroy"}]},
        {"decisions": [{"aip_id": "nope", "decision": "destroy", "reason": "x"}]},
        {"decisions": [destroy(aip_id), destroy(aip_id)]},
        {"decisions": [{"aip_id": aip_id, "decision": "extend", "reason": "x"}]},
        {
            "decisions": [
                {"aip_id": aip_id, "decision": "extend", "reason": "x", "retention": "ever"}
            ]
        },
        {
            "decisions": [
                {"aip_id": aip_id, "decision": "destroy", "reason": "x", "retention": "5y"}
            ]
        },
        {"decisions": [{**destroy(aip_id), "evil": 1}]},
        {"decisions": "all"},
        {"decisions": [{"aip_id": "x" * 100000, "decision": "destroy", "reason": "x"}]},
    ]
    for body in bad:
        response = client.post("/v1/appraisals", json=body, headers=who.officer)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert client.post("/v1/appraisals", content=b"{", headers=who.officer).status_code == 422
    assert client.post("/v1/appraisals", json={"decisions": [destroy(aip_id)]}).status_code == 401
    assert (
        client.post(
            "/v1/appraisals", json={"decisions": [destroy(aip_id)]}, headers=who.appraiser
        ).status_code
        == 403
    )
    assert client.get("/v1/appraisals/nope", headers=who.officer).status_code == 404
    assert client.post("/v1/appraisals/nope/approve", headers=who.appraiser).status_code == 404
    assert (
        client.get("/v1/appraisals/nope/destruction-list", headers=who.officer).status_code == 404
    )
    assert client.get("/v1/appraisals/due?as_of=never", headers=who.officer).status_code == 422
    assert client.delete("/v1/holds/nope", headers=who.officer).status_code == 404
    for hold in (
        {"scope": "planet", "value": "x", "reason": "x"},
        {"scope": "record", "value": "missing", "reason": "x"},
        {"scope": "agency", "value": "missing", "reason": "x"},
        {"scope": "fonds", "value": "F", "reason": " "},
    ):
        response = client.post("/v1/holds", json=hold, headers=who.officer)
        assert response.status_code in (404, 422), (hold, response.text)
    assert client.get(f"/v1/aips/{aip_id}", headers=who.officer).status_code == 200


def test_a_mistaken_transfer_is_deaccessioned_outside_the_clock(rt, client, make_token):
    who = people(make_token)
    mistaken = record(rt, client, make_token, date="2026-01-01")  # due only in 2037
    set_clock(rt, AFTER_DUE)
    early = client.post(
        "/v1/appraisals", json={"decisions": [destroy(mistaken)]}, headers=who.officer
    )
    assert early.status_code == 400
    batch = propose(
        client,
        who.officer,
        {"aip_id": mistaken, "decision": "deaccession", "reason": "sent to the wrong archive"},
    )
    assert client.get(f"/v1/appraisals/{batch['id']}", headers=who.officer).json()["kind"] == (
        "deaccession"
    )
    own = client.post(f"/v1/appraisals/{batch['id']}/approve", headers=who.officer)
    assert own.status_code == 403
    done = approve(rt, client, who.appraiser, batch["id"])
    assert done["state"] == "done" and done["decisions"][0]["outcome"] == "destroyed"
    assert not any(files_of(s / "aips", mistaken) for s in stores(rt))
    assert ("deaccession", "success", None) in events(rt, mistaken)
    gone = client.get(f"/v1/aips/{mistaken}", headers=who.officer).json()
    assert gone["tombstone"]["decision"] == "deaccession"


def test_every_disposal_endpoint_has_an_operation_id(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/appraisals"]["post"]["operationId"] == "proposeAppraisal"
    assert paths["/v1/appraisals/{appraisal_id}/approve"]["post"]["operationId"] == (
        "approveAppraisal"
    )
    assert paths["/v1/appraisals/due"]["get"]["operationId"] == "listDueRecords"
    assert paths["/v1/holds/{hold_id}"]["delete"]["operationId"] == "releaseHold"
    assert "410" in paths["/v1/aips/{aip_id}"]["get"]["responses"]
