"""Opening review end to end through the API: due, proposed, blocked while the confidentiality
review is pending or failed, approved by a second person (never the proposer), public."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from preserve.catalog.models import Event
from support.ingest import ingest
from support.opening import People, open_records, propose, text_pdf

OLD = {"date": "1990-05-01", "year": "1990"}


def _aip(rt, client, make_token, title: str, code: str, files=None, **meta) -> str:
    files = files or {"doc.pdf": text_pdf("Lighthouse keeper ledger")}
    meta = {**OLD, **meta}
    return ingest(rt, client, make_token, files, title=title, archival_code=code, **meta)


def test_due_then_two_step_review_then_public(rt, client, make_token):
    people = People(make_token)
    advice = {"advice": "open", "reason": "no personal data", "date": "2015-01-01"}
    aip = _aip(rt, client, make_token, "港口灯塔档案", "A001-WS-1990-Y-0001", opening_advice=advice)

    due = client.get("/v1/openings/due?as_of=2026-01-01", headers=people.officer)
    assert due.status_code == 200, due.text
    [item] = [i for i in due.json()["items"] if i["aip_id"] == aip]
    assert item["due_on"] == "2015-05-01" and item["opening_advice"]["advice"] == "open"
    early = client.get("/v1/openings/due?as_of=2015-04-30", headers=people.officer).json()
    assert aip not in {i["aip_id"] for i in early["items"]}

    opening = propose(client, people, {"aip_id": aip, "decision": "open", "reason": "due"})
    assert client.get(f"/public/v1/records/{aip}").status_code == 404
    waiting = client.post(f"/v1/openings/{opening}/approve", headers=people.second_officer)
    assert waiting.status_code == 409 and "保密审查" in waiting.json()["detail"]
    # the advice was shown to the reviewer, not applied
    shown = client.get(f"/v1/openings/{opening}", headers=people.security).json()
    assert shown["decisions"][0]["opening_advice"]["advice"] == "open"
    assert client.get(f"/public/v1/records/{aip}").status_code == 404

    not_security = client.post(
        f"/v1/openings/{opening}/review",
        json={"outcome": "pass", "reason": "x"},
        headers=people.second_officer,
    )
    assert not_security.status_code == 403
    failed = client.post(
        f"/v1/openings/{opening}/review",
        json={"outcome": "fail", "reason": "names a living person"},
        headers=people.security,
    )
    assert failed.json()["state"] == "review_failed"
    refused = client.post(f"/v1/openings/{opening}/approve", headers=people.second_officer)
    assert refused.status_code == 409
    assert client.get(f"/public/v1/records/{aip}").status_code == 404

    second = propose(client, people, {"aip_id": aip, "decision": "open", "reason": "redone"})
    passed = client.post(
        f"/v1/openings/{second}/review",
        json={"outcome": "pass", "reason": "checked"},
        headers=people.security,
    )
    assert passed.json()["state"] == "reviewed"
    own = client.post(f"/v1/openings/{second}/approve", headers=people.officer)
    assert own.status_code == 403
    assert client.get(f"/public/v1/records/{aip}").status_code == 404
    approved = client.post(f"/v1/openings/{second}/approve", headers=people.second_officer)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"

    record = client.get(f"/public/v1/records/{aip}")
    assert record.status_code == 200, record.text
    assert record.headers["cache-control"] == "no-store" and "set-cookie" not in record.headers
    body = record.json()
    assert body["fields"]["title"] == "港口灯塔档案"
    [f] = body["files"]
    got = client.get(f["url"])
    assert got.status_code == 200
    assert (
        hashlib.sha256(got.content).hexdigest() == f["sha256"] == got.headers["x-checksum-sha256"]
    )
    assert got.headers["content-disposition"].startswith("inline")
    assert (
        client.get(f["url"] + "?download=true")
        .headers["content-disposition"]
        .startswith("attachment")
    )
    hits = client.get("/public/v1/records", params={"q": "灯塔"}).json()["items"]
    assert [h["id"] for h in hits] == [aip]

    with rt.sessions.begin() as session:
        details = session.scalars(select(Event.detail).where(Event.object_id == aip)).all()
    joined = "\n".join(details)
    for step in (
        "proposed open",
        "保密审查) failed",
        "保密审查) passed",
        "approved: access status open",
    ):
        assert step in joined, step


def test_a_classified_record_opens_only_after_declassification(rt, client, make_token):
    people = People(make_token)
    aip = _aip(rt, client, make_token, "机密会议纪要", "A001-WS-1990-Y-0002", classification="机密")
    refused = client.post(
        "/v1/openings",
        json={"decisions": [{"aip_id": aip, "decision": "open", "reason": "due"}]},
        headers=people.officer,
    )
    assert refused.status_code == 409 and "declassification" in refused.json()["detail"]
    by_officer = client.post(
        f"/v1/aips/{aip}/declassification", json={"reason": "x"}, headers=people.officer
    )
    assert by_officer.status_code == 403
    done = client.post(
        f"/v1/aips/{aip}/declassification", json={"reason": "period over"}, headers=people.security
    )
    assert done.status_code == 204, done.text
    open_records(rt, client, people, aip)
    assert client.get(f"/public/v1/records/{aip}").status_code == 200
    # a field taken off the publishable list is no longer shown, even for records already open
    assert "archival_code" in client.get(f"/public/v1/records/{aip}").json()["fields"]
    rt.settings.public_fields = ["title"]
    assert set(client.get(f"/public/v1/records/{aip}").json()["fields"]) == {"title"}
    listed = client.get("/public/v1/records").json()["items"]
    assert [set(i["fields"]) for i in listed] == [{"title"}]


def test_bad_proposals_are_clean_4xx(rt, client, make_token):
    people = People(make_token)
    aip = _aip(rt, client, make_token, "T", "A001-WS-1990-Y-0003")
    cases = [
        {"decisions": []},
        {"decisions": [{"aip_id": aip, "decision": "opened", "reason": "x"}]},
        {"decisions": [{"aip_id": aip, "decision": "open", "reason": ""}]},
        {"decisions": [{"aip_id": aip, "decision": "open", "reason": "x"}] * 2},
        {"decisions": [{"aip_id": "0" * 36, "decision": "open", "reason": "x"}]},
        {"decisions": [{"aip_id": aip, "decision": "open", "reason": "x", "until": "2030-01-01"}]},
        {"decisions": [{"aip_id": "a\u0000b", "decision": "open", "reason": "x"}]},
        {"decisions": [{"aip_id": aip, "decision": "open", "reason": "a\u0000b"}]},
    ]
    for body in cases:
        response = client.post("/v1/openings", json=body, headers=people.officer)
        assert 400 <= response.status_code < 500, (body, response.text)
    submitter = client.post(
        "/v1/openings",
        json={"decisions": [{"aip_id": aip, "decision": "open", "reason": "x"}]},
        headers=people.submitter,
    )
    assert submitter.status_code == 403
    first = propose(client, people, {"aip_id": aip, "decision": "controlled", "reason": "x"})
    again = client.post(
        "/v1/openings",
        json={"decisions": [{"aip_id": aip, "decision": "open", "reason": "x"}]},
        headers=people.officer,
    )
    assert again.status_code == 409 and first in again.json()["detail"]
    assert (
        client.post("/v1/openings/nope/approve", headers=people.second_officer).status_code == 404
    )


def test_due_follows_the_period_of_each_category(rt, client, make_token):
    from datetime import date

    from preserve.opening.due import Periods, due

    science = _aip(rt, client, make_token, "科技档案", "A001-KJ-2010-Y-0001",
                   date="2010-06-01", year="2010", category="科技")  # fmt: skip
    plain = _aip(rt, client, make_token, "文书档案", "A001-WS-2010-Y-0002",
                 date="2010-06-01", year="2010")  # fmt: skip
    periods = Periods(25, {"科技": 10})
    with rt.sessions.begin() as session:
        on_2020 = {i["aip_id"]: i for i in due(session, date(2020, 6, 1), periods)}
        before = {i["aip_id"] for i in due(session, date(2020, 5, 31), periods)}
        on_2035 = {i["aip_id"] for i in due(session, date(2035, 6, 1), periods)}
    assert set(on_2020) == {science} and on_2020[science]["period_years"] == 10
    assert before == set()
    assert on_2035 == {science, plain}
