"""The state never says more than the copies (issue 11, item 8): with every replica of an AIP
failed its SIP is AT_RISK, in the API and in ``/metrics``; once a repair proves the policy
again it is PRESERVED again."""

from __future__ import annotations

from audit_support import BAD, GOOD, ingest, make_due, replica_dir, scheduled_round
from sqlalchemy import select
from test_repair import flip_byte

from preserve.catalog.models import Aip, Role
from support.http import auth

VICTIM = ("data", "docs", "notice.pdf")


def sip_of(rt, aip_id: str) -> str:
    with rt.sessions() as session:
        return session.scalar(select(Aip.sip_id).where(Aip.id == aip_id))


def state(client, headers, sip_id: str) -> str:
    response = client.get(f"/v1/sips/{sip_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["state"]


def at_risk_gauge(client) -> str:
    [line] = [
        line
        for line in client.get("/metrics").text.splitlines()
        if line.startswith("preserve_aips_at_risk ")
    ]
    return line.split()[1]


def test_every_replica_failed_is_at_risk_and_preserved_again_once_repaired(rt, client, make_token):
    aip_id = ingest(rt, client, make_token)
    sip_id = sip_of(rt, aip_id)
    officer = auth(make_token("archive", Role.OFFICER))
    assert state(client, officer, sip_id) == "PRESERVED"
    assert at_risk_gauge(client) == "0"
    victim = replica_dir(rt, aip_id, GOOD).joinpath(*VICTIM)
    original = victim.read_bytes()
    flip_byte(replica_dir(rt, aip_id, GOOD))
    flip_byte(replica_dir(rt, aip_id, BAD))
    make_due(rt, aip_id)

    scheduled_round(rt)

    assert state(client, officer, sip_id) == "AT_RISK"
    assert at_risk_gauge(client) == "1"
    listed = client.get("/v1/sips?state=AT_RISK", headers=officer)
    assert listed.status_code == 200, listed.text
    assert sip_id in listed.text
    assert sip_id not in client.get("/v1/sips?state=PRESERVED", headers=officer).text

    victim.write_bytes(original)  # one good copy again (restored from tape, say)
    make_due(rt, aip_id)
    scheduled_round(rt)

    assert state(client, officer, sip_id) == "PRESERVED"
    assert at_risk_gauge(client) == "0"
    assert replica_dir(rt, aip_id, BAD).joinpath(*VICTIM).read_bytes() == original


def test_the_fixity_report_counts_aips_at_risk(rt, client, make_token):
    aip_id = ingest(rt, client, make_token)
    officer = auth(make_token("archive", Role.OFFICER))
    assert client.get("/v1/reports/fixity", headers=officer).json()["report"]["aips_at_risk"] == 0
    for target in (GOOD, BAD):
        flip_byte(replica_dir(rt, aip_id, target))
    make_due(rt, aip_id)
    scheduled_round(rt)
    report = client.get("/v1/reports/fixity", headers=officer).json()["report"]
    assert report["aips_at_risk"] == 1
