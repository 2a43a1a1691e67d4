"""An administrator may place one SIP under another storage profile; nobody else may."""

from __future__ import annotations

from pathlib import Path

from preserve.catalog.models import Role, Sip
from preserve.catalog.repository import events_for
from preserve.jobs.worker import drain
from support.http import auth
from support.profiles import write_profile
from support.records import form, metadata


def test_admin_override_places_the_sip_under_the_named_profile(rt, client, make_token, tmp_path):
    write_profile(rt.settings.profiles_dir, tmp_path / "vault-stores", name="vault")
    admin = make_token("agency-a", Role.ADMIN)
    headers = {**auth(admin), "Preserve-Storage-Profile": "vault"}
    body = form({"a.txt": b"kept in the vault"}, metadata(archival_code="V-2024-0001"), headers)
    response = client.post("/v1/sips", **body)
    assert response.status_code == 202, response.text
    drain(rt)
    sip_id = response.json()["id"]
    with rt.sessions.begin() as session:
        sip = session.get(Sip, sip_id)
        assert sip.storage_profile == "vault"
        assert sip.state.value == "PRESERVED"
        events = [e.type for e in events_for(session, "sip", sip_id)]
    assert "storage profile override" in events
    assert list(Path(tmp_path / "vault-stores").rglob("a.txt"))


def test_a_submitter_may_not_choose_the_profile(rt, client, make_token):
    headers = {**auth(make_token()), "Preserve-Storage-Profile": "local"}
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")


def test_an_unknown_or_path_like_profile_is_refused_before_the_body(rt, client, make_token):
    admin = make_token("agency-a", Role.ADMIN)
    for name in ("no-such-profile", "../../etc/passwd"):
        headers = {**auth(admin), "Preserve-Storage-Profile": name}
        response = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers))
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith("/unknown-storage-profile")
    assert not any(rt.settings.staging_dir.glob("*/bag/data/a.txt"))
