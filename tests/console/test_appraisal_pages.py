"""The appraisal console pages in-process (both databases): roles, proposing from the due list,
the proposer refused, an appraiser's approval changing the batch, CSRF, the destruction list."""

from __future__ import annotations

import pytest

from disposal.disposal_support import AFTER_DUE, BEFORE_DUE, record, set_clock
from preserve.catalog.models import Role
from preserve.jobs.worker import drain
from support.console_forms import as_, csrf, state_of

ALL_ROLES = list(Role)
STAFF = {Role.OFFICER, Role.APPRAISER, Role.ADMIN}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_appraisal_pages_only_for_their_roles(client, make_token, role):
    as_(client, make_token("archive", role))
    home = client.get("/console/").text
    answer = client.get("/console/appraisals", follow_redirects=False)
    if role in STAFF:
        assert answer.status_code == 200, answer.text[:500]
        assert 'href="/console/appraisals"' in home
    else:
        assert answer.status_code == 403
        assert 'href="/console/appraisals"' not in home
        token = csrf(home)
        posted = client.post("/console/appraisals", data={"csrf_token": token, "aip": "x"})
        assert posted.status_code == 403


def test_appraiser_signs_in_and_sees_its_home(client, make_token):
    as_(client, make_token("archive", Role.APPRAISER))
    home = client.get("/console/")
    assert home.status_code == 200
    assert "鉴定人员" in home.text and 'href="/console/appraisals"' in home.text
    assert 'href="/console/dashboard"' not in home.text


def _propose(client, aip: str, reason: str = "retention ended") -> str:
    page = client.get("/console/appraisals")
    assert f'value="{aip}"' in page.text  # the due record is offered
    data = {"csrf_token": csrf(page.text), "aip": aip, "decision": "destroy", "reason": reason}
    answer = client.post("/console/appraisals", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("/", 1)[1]


def test_propose_refuse_proposer_then_appraiser_approves(rt, client, make_token):
    aip = record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    admin = make_token("archive", Role.ADMIN)
    as_(client, admin)  # the admin may propose (as the API lets it) ...
    batch = _propose(client, aip)
    page = client.get(f"/console/appraisals/{batch}").text
    assert state_of(page) == "待审批"
    assert f"/console/appraisals/{batch}/approve" not in page  # no button for the proposer
    refused = client.post(f"/console/appraisals/{batch}/approve", data={"csrf_token": csrf(page)})
    assert refused.status_code == 403  # ... but never approve its own batch
    assert 'id="refusal"' in refused.text and "proposer" in refused.text
    assert state_of(refused.text) == "待审批"

    as_(client, make_token("archive", Role.APPRAISER))
    page = client.get(f"/console/appraisals/{batch}").text
    assert f"/console/appraisals/{batch}/approve" in page
    no_csrf = client.post(f"/console/appraisals/{batch}/approve", data={})
    assert no_csrf.status_code == 403
    assert state_of(client.get(f"/console/appraisals/{batch}").text) == "待审批"
    done = client.post(
        f"/console/appraisals/{batch}/approve",
        data={"csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert state_of(client.get(f"/console/appraisals/{batch}").text) == "已批准"
    drain(rt)
    after = client.get(f"/console/appraisals/{batch}").text
    assert state_of(after) == "已完成"
    listing = client.get(f"/console/appraisals/{batch}/destruction-list")
    assert listing.status_code == 200 and "销毁清册" in listing.text
    as_csv = client.get(f"/console/appraisals/{batch}/destruction-list?format=csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    signed = client.get(f"/console/appraisals/{batch}/destruction-list?format=json").json()
    assert signed["signature"] and signed["report"]
    assert client.get(f"/console/appraisals/{batch}/destruction-list?format=pdf").status_code == 400


def test_officer_proposal_rejected_by_appraiser(rt, client, make_token):
    aip = record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    as_(client, make_token("archive", Role.OFFICER))
    home = client.get("/console/").text
    nul = {"csrf_token": csrf(home), "aip": aip, "decision": "destroy", "reason": "r"}
    assert client.post("/console/appraisals", data={**nul, "note": "a\x00b"}).status_code == 422
    batch = _propose(client, aip)
    assert client.post("/console/appraisals", data={"aip": aip}).status_code == 403  # no CSRF
    not_approver = client.post(
        f"/console/appraisals/{batch}/approve", data={"csrf_token": csrf(home)}
    )
    assert not_approver.status_code == 403 and 'id="refusal"' in not_approver.text
    as_(client, make_token("archive", Role.APPRAISER))
    page = client.get(f"/console/appraisals/{batch}").text
    nul = {"csrf_token": csrf(page), "reason": "a\x00b"}
    assert client.post(f"/console/appraisals/{batch}/reject", data=nul).status_code == 422
    rejected = client.post(
        f"/console/appraisals/{batch}/reject",
        data={"csrf_token": csrf(page), "reason": "keep it"},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    page = client.get(f"/console/appraisals/{batch}").text
    assert state_of(page) == "已驳回" and "keep it" in page


def test_hostile_proposals_are_clean_4xx(rt, client, make_token):
    aip = record(rt, client, make_token)
    set_clock(rt, BEFORE_DUE)  # due 2031-01-01: not yet
    as_(client, make_token("archive", Role.OFFICER))
    token = csrf(client.get("/console/").text)
    cases = [
        {"aip": aip, "decision": "destroy", "reason": "early"},  # not due
        {"aip": aip, "decision": "destroy", "reason": "early", "note": "a\x00b"},
        {"aip": aip, "decision": "destroy", "reason": "a\x00b"},
        {"aip": "00000000-0000-0000-0000-000000000000", "decision": "destroy", "reason": "r"},
        {"aip": "x\x00y", "decision": "destroy", "reason": "r"},
        {"aip": aip, "decision": "burn", "reason": "r"},
        {"aip": aip, "decision": "destroy", "reason": ""},
        {"decision": "destroy", "reason": "nothing chosen"},
        {"aip": aip, "decision": "extend", "reason": "r", "retention": "forever-ish"},
    ]
    for data in cases:
        answer = client.post("/console/appraisals", data={"csrf_token": token, **data})
        assert 400 <= answer.status_code < 500, (data, answer.status_code, answer.text[:300])
    assert client.get("/console/appraisals/no-such-batch").status_code == 404
    assert client.get("/console/appraisals/a%00b").status_code == 404


def test_extend_from_the_due_list_applies_on_approval(rt, client, make_token):
    aip = record(rt, client, make_token)
    set_clock(rt, AFTER_DUE)
    as_(client, make_token("archive", Role.OFFICER))
    page = client.get("/console/appraisals").text
    data = {"csrf_token": csrf(page), "aip": aip, "decision": "extend", "reason": "still used"}
    made = client.post("/console/appraisals", data={**data, "retention": "30y"})
    assert made.status_code == 200, made.text[:500]  # followed to the batch page
    batch = str(made.url).rsplit("/", 1)[1]
    assert "10y → 30y" in made.text
    as_(client, make_token("archive", Role.APPRAISER))
    token = csrf(client.get(f"/console/appraisals/{batch}").text)
    client.post(f"/console/appraisals/{batch}/approve", data={"csrf_token": token})
    page = client.get(f"/console/appraisals/{batch}").text
    assert state_of(page) == "已完成" and "已生效" in page
    assert f'value="{aip}"' not in client.get("/console/appraisals").text  # no longer due
