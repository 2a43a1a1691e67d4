"""The security officer's key rotation and revocation in-process (both databases): each needs
the session's CSRF token and a ticked confirmation, each is an event in the log, the current
key cannot be revoked, and no other role may do either."""

from __future__ import annotations

import pytest

from preserve.catalog.models import Role
from preserve.catalog.repository import events_for
from support.console_forms import as_, csrf


def _keys(rt) -> dict:
    return {k.key_id: k for k in rt.keyring.list()}


def _events(client, token: str) -> str:
    as_(client, token)
    return client.get("/console/audit/log").text


def test_rotate_then_revoke_with_confirmation(rt, client, make_token):
    as_(client, make_token("archive", Role.SECURITY))
    page = client.get("/console/security/keys").text
    old = rt.signing_key.key_id
    assert f"/console/security/keys/{old}/revoke" not in page  # the current key: rotate first
    token = csrf(page)
    unconfirmed = client.post("/console/security/keys/rotate", data={"csrf_token": token})
    assert unconfirmed.status_code == 422
    assert rt.signing_key.key_id == old
    assert client.post("/console/security/keys/rotate", data={"confirm": "yes"}).status_code == 403
    rotated = client.post(
        "/console/security/keys/rotate",
        data={"csrf_token": token, "confirm": "yes", "reason": "yearly"},
        follow_redirects=False,
    )
    assert rotated.status_code == 303
    keys = _keys(rt)
    assert not keys[old].current and len(keys) == 2

    page = client.get("/console/security/keys").text
    assert f'href="/console/security/keys/{old}/revoke"' in page
    confirm = client.get(f"/console/security/keys/{old}/revoke")
    assert confirm.status_code == 200 and "不可撤销" in confirm.text
    revoke = f"/console/security/keys/{old}/revoke"
    form = {"csrf_token": csrf(confirm.text), "reason": "private key exposed"}
    assert client.post(revoke, data=form).status_code == 422  # not confirmed
    assert client.post(revoke, data={**form, "confirm": "yes", "reason": " "}).status_code == 422
    assert _keys(rt)[old].revoked_from is None
    done = client.post(
        revoke, data={**form, "confirm": "yes", "from": "2026-01-01"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert _keys(rt)[old].revoked_from.isoformat().startswith("2026-01-01")
    new = next(k for k, info in _keys(rt).items() if info.current)
    current = client.post(f"/console/security/keys/{new}/revoke", data={**form, "confirm": "yes"})
    assert current.status_code == 409  # the key that signs now is never revoked
    with rt.sessions.begin() as session:
        revoked = [(e.type, e.detail, e.agent) for e in events_for(session, "key", old)]
    assert any("private key exposed" in detail for _, detail, _ in revoked), revoked
    assert all("security officer (console)" in agent for _, _, agent in revoked)
    log = _events(client, make_token("archive", Role.AUDITOR))
    assert "key rotation" in log and "key revocation" in log


@pytest.mark.parametrize("role", [r for r in Role if r != Role.SECURITY])
def test_only_the_security_officer(rt, client, make_token, role):
    as_(client, make_token("archive", role))
    old = rt.signing_key.key_id
    token = csrf(client.get("/console/").text)
    data = {"csrf_token": token, "confirm": "yes", "reason": "x"}
    assert client.post("/console/security/keys/rotate", data=data).status_code == 403
    assert client.get(f"/console/security/keys/{old}/revoke").status_code == 403
    assert client.post(f"/console/security/keys/{old}/revoke", data=data).status_code == 403
    assert rt.signing_key.key_id == old
