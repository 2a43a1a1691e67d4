"""The opening review console pages in-process (both databases): roles, proposing from the due
list, the security officer's review, a second officer's approval opening the record, the
proposer refused, CSRF, publishing the catalogue of a period."""

from __future__ import annotations

import re

import pytest

from preserve.catalog.models import Role
from support.console_forms import as_, csrf, state_of
from support.ingest import ingest
from support.opening import text_pdf

STAFF = {Role.OFFICER, Role.SECURITY, Role.ADMIN}
OLD = {"date": "1990-05-01", "year": "1990"}


def _aip(rt, client, make_token, code: str, **meta) -> str:
    files = {"doc.pdf": text_pdf("Lighthouse keeper ledger")}
    meta = {"title": "港口灯塔档案", "archival_code": code, **OLD, **meta}
    return ingest(rt, client, make_token, files, **meta)


@pytest.mark.parametrize("role", list(Role))
def test_opening_pages_only_for_their_roles(client, make_token, role):
    as_(client, make_token("archive", role))
    home = client.get("/console/").text
    answer = client.get("/console/openings", follow_redirects=False)
    if role in STAFF:
        assert answer.status_code == 200, answer.text[:500]
        assert 'href="/console/openings"' in home
    else:
        assert answer.status_code == 403
        assert 'href="/console/openings"' not in home
    token = csrf(home)
    posted = client.post("/console/openings/catalogue", data={"csrf_token": token})
    if role not in (Role.OFFICER, Role.ADMIN):
        assert posted.status_code == 403  # publishing is the officer's
    review = client.post(
        "/console/openings/00000000-0000-0000-0000-000000000000/review",
        data={"csrf_token": token, "outcome": "pass", "reason": "r"},
    )
    assert review.status_code == (404 if role is Role.SECURITY else 403)


def test_review_pass_then_second_officer_opens_the_record(rt, client, make_token):
    advice = {"advice": "open", "reason": "no personal data", "date": "2015-01-01"}
    aip = _aip(rt, client, make_token, "A001-WS-1990-Y-0001", opening_advice=advice)
    proposer = make_token("archive", Role.OFFICER)
    as_(client, proposer)
    listing = client.get("/console/openings").text
    assert f'value="{aip}"' in listing and "no personal data" in listing
    token = csrf(listing)
    data = {"aip": aip, "decision": "open", "reason": "due"}
    assert client.post("/console/openings", data=data).status_code == 403  # no CSRF
    made = client.post(
        "/console/openings", data={"csrf_token": token, **data}, follow_redirects=False
    )
    assert made.status_code == 303, made.text
    opening = made.headers["location"].rsplit("/", 1)[1]
    early = client.post(f"/console/openings/{opening}/approve", data={"csrf_token": token})
    assert early.status_code == 403  # the proposer may never approve
    assert 'id="refusal"' in early.text
    assert (
        client.post(
            f"/console/openings/{opening}/review", data={"csrf_token": token, "outcome": "pass"}
        ).status_code
        == 403
    )  # only the security officer reviews

    as_(client, make_token("archive", Role.SECURITY))
    page = client.get(f"/console/openings/{opening}").text
    assert 'id="review"' in page and "no personal data" in page
    token = csrf(page)
    assert (
        client.post(
            f"/console/openings/{opening}/review", data={"outcome": "pass", "reason": "fine"}
        ).status_code
        == 403
    )  # no CSRF
    empty = client.post(
        f"/console/openings/{opening}/review",
        data={"csrf_token": token, "outcome": "pass", "reason": " "},
    )
    assert empty.status_code == 422
    passed = client.post(
        f"/console/openings/{opening}/review",
        data={"csrf_token": token, "outcome": "pass", "reason": "nothing secret"},
        follow_redirects=False,
    )
    assert passed.status_code == 303
    assert state_of(client.get(f"/console/openings/{opening}").text) == "保密审查已通过"
    assert client.get(f"/public/v1/records/{aip}").status_code == 404

    as_(client, proposer)
    page = client.get(f"/console/openings/{opening}").text
    assert 'id="approve"' not in page  # no button for the proposer
    refused = client.post(f"/console/openings/{opening}/approve", data={"csrf_token": csrf(page)})
    assert refused.status_code == 403 and "proposer" in refused.text
    assert client.get(f"/public/v1/records/{aip}").status_code == 404

    as_(client, make_token("archive", Role.OFFICER))
    page = client.get(f"/console/openings/{opening}").text
    assert 'id="approve"' in page
    approved = client.post(
        f"/console/openings/{opening}/approve",
        data={"csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    assert state_of(client.get(f"/console/openings/{opening}").text) == "已批准"
    assert client.get(f"/public/v1/records/{aip}").status_code == 200

    today = client.get("/console/openings").text
    issued = client.post(
        "/console/openings/catalogue",
        data={"csrf_token": csrf(today), "from": "2000-01-01", "to": "2100-01-01"},
    )
    assert issued.status_code == 200, issued.text[:500]
    assert re.search(r'<dd class="num">1</dd>', issued.text)


def test_failed_review_cannot_be_approved(rt, client, make_token):
    aip = _aip(rt, client, make_token, "A001-WS-1990-Y-0002")
    as_(client, make_token("archive", Role.OFFICER))
    token = csrf(client.get("/console/openings").text)
    made = client.post(
        "/console/openings",
        data={"csrf_token": token, "aip": aip, "decision": "open", "reason": "due"},
        follow_redirects=False,
    )
    opening = made.headers["location"].rsplit("/", 1)[1]
    as_(client, make_token("archive", Role.SECURITY))
    token = csrf(client.get(f"/console/openings/{opening}").text)
    client.post(
        f"/console/openings/{opening}/review",
        data={"csrf_token": token, "outcome": "fail", "reason": "names a living person"},
    )
    as_(client, make_token("archive", Role.ADMIN))
    page = client.get(f"/console/openings/{opening}").text
    assert state_of(page) == "保密审查未通过" and 'id="approve"' not in page
    refused = client.post(f"/console/openings/{opening}/approve", data={"csrf_token": csrf(page)})
    assert refused.status_code == 409 and "保密审查" in refused.text
    assert client.get(f"/public/v1/records/{aip}").status_code == 404


def test_hostile_opening_forms_are_clean_4xx(rt, client, make_token):
    aip = _aip(rt, client, make_token, "A001-WS-1990-Y-0003")
    as_(client, make_token("archive", Role.OFFICER))
    token = csrf(client.get("/console/openings").text)
    cases = [
        {"aip": aip, "decision": "public", "reason": "r"},
        {"aip": aip, "decision": "open", "reason": ""},
        {"aip": aip, "decision": "open", "reason": "a\x00b"},
        {"aip": "x\x00y", "decision": "open", "reason": "r"},
        {"decision": "open", "reason": "nothing chosen"},
        {"aip": [aip, aip], "decision": "open", "reason": "twice"},
    ]
    for data in cases:
        answer = client.post("/console/openings", data={"csrf_token": token, **data})
        assert 400 <= answer.status_code < 500, (data, answer.status_code, answer.text[:300])
    for period in ({"from": "2026-02-01", "to": "2026-01-01"}, {"from": "x", "to": "y"}, {}):
        answer = client.post("/console/openings/catalogue", data={"csrf_token": token, **period})
        assert answer.status_code == 422, period
    assert client.get("/console/openings/not-an-id").status_code == 404
    assert client.get("/console/openings/a%00b").status_code == 404
