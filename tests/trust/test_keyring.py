"""Key rotation and revocation: old signatures keep verifying, revoked keys stop being trusted."""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from preserve.access.restore import restore_aip
from preserve.aip import bag
from preserve.aip.layout import aip_prefix
from preserve.audit.service import AuditOutcome
from preserve.catalog.models import Aip, Event
from preserve.catalog.types import utcnow
from preserve.errors import Conflict, IntegrityError, NotFound
from preserve.jobs.tasks.audit import audit_all
from preserve.jobs.worker import drain
from preserve.trust.keyring import Keyring
from preserve.trust.signing import SM2_ALGORITHM, Signature, sign, verify
from support.profiles import write_profile
from support.records import MINIMAL_PDF, form, metadata
from support.server import cli_env, run_cli

DATA = b"0123abcd  bagit.txt\n"


def ingest(rt, client, make_token, code: str) -> str:
    headers = {"Authorization": f"Bearer {make_token()}"}
    files = {"docs/notice.pdf": MINIMAL_PDF, "notes.txt": code.encode() * 10}
    response = client.post("/v1/sips", **form(files, metadata(archival_code=code), headers=headers))
    assert response.status_code == 202, response.text
    drain(rt)
    sip = client.get(f"/v1/sips/{response.json()['id']}", headers=headers).json()
    assert sip["state"] == "PRESERVED", sip
    return sip["aip_id"]


def test_aips_signed_before_and_after_a_rotation_all_verify(rt, client, make_token, tmp_path):
    first_key = rt.signing_key.key_id
    before = ingest(rt, client, make_token, "A001-WS-2024-Y-0001")
    new = rt.keyring.rotate(reason="test")
    assert rt.signing_key.key_id == new.key_id != first_key
    after = ingest(rt, client, make_token, "A001-WS-2024-Y-0002")

    with rt.sessions() as session:
        signers = dict(session.execute(select(Aip.id, Aip.signing_key_id)).tuples().all())
    assert signers == {before: first_key, after: new.key_id}
    audits = audit_all(rt)
    assert len(audits) == 4 and all(a.outcome == AuditOutcome.OK for a in audits)
    for aip_id in (before, after):
        store = rt.store("local", "site-b-nas")
        out = tmp_path / "restored" / aip_id
        assert restore_aip(store, aip_id, out, rt.trusted_keys()).files == 2


def test_a_signature_made_after_the_revocation_date_is_rejected(rt, client, make_token):
    aip_id = ingest(rt, client, make_token, "A001-WS-2024-Y-0003")
    old = rt.signing_key
    rt.keyring.rotate(reason="compromise suspected")
    revoked_from = utcnow()
    rt.keyring.revoke(old.key_id, revoked_from, "private key exposed")
    trusted = rt.trusted_keys()

    assert trusted.revoked_from == {old.key_id: revoked_from}
    verify(sign(old, DATA, "f", when=revoked_from - timedelta(seconds=1)), DATA, trusted)
    for late in (revoked_from, revoked_from + timedelta(days=1)):
        with pytest.raises(IntegrityError, match=f"by key {old.key_id}, which is revoked"):
            verify(sign(old, DATA, "f", when=late), DATA, trusted)

    # the AIP signed before the revocation still audits; re-signed with the stolen key after
    # it, the same replica fails.
    assert all(a.outcome == AuditOutcome.OK for a in audit_all(rt))
    root = Path(rt.profile().target("site-a-disk").root) / aip_prefix(aip_id)
    tagmanifest = (root / bag.TAGMANIFEST).read_bytes()
    (root / bag.SIGNATURE).write_bytes(sign(old, tagmanifest, bag.TAGMANIFEST).to_json())
    outcomes = {a.target: a.outcome for a in audit_all(rt)}
    assert outcomes == {"site-a-disk": AuditOutcome.SIGNATURE_INVALID, "site-b-nas": "ok"}


def test_a_signature_without_a_time_by_a_revoked_key_needs_a_time_from_elsewhere(rt):
    old = rt.signing_key
    legacy = Signature(old.key_id, "f", old.private.sign(DATA), old.public_pem())
    rt.keyring.rotate()
    revoked_from = utcnow()
    rt.keyring.revoke(old.key_id, revoked_from, "retired")

    with pytest.raises(IntegrityError, match="carries no signing time"):
        verify(legacy, DATA, rt.trusted_keys())
    verify(legacy, DATA, rt.trusted_keys(), at=revoked_from - timedelta(hours=1))
    verify(legacy, DATA)  # a signature over the bytes themselves: the first AIPs' format


def test_the_current_key_and_unknown_keys_cannot_be_revoked(rt):
    with pytest.raises(Conflict, match="rotate it before revoking"):
        rt.keyring.revoke(rt.signing_key.key_id, utcnow(), "x")
    with pytest.raises(NotFound):
        rt.keyring.revoke("0123456789abcdef", utcnow(), "x")


def test_rotated_keys_are_0600_and_encrypted_with_the_passphrase(tmp_path):
    keyring = Keyring(tmp_path / "keys", "correct horse")
    first = keyring.signing_key()
    new = keyring.rotate()
    sm2_key = keyring.sm2_key()

    for name in (f"ed25519-{new.key_id}.pem", f"sm2-{sm2_key.key_id}-private.pem"):
        path = tmp_path / "keys" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    again = Keyring(tmp_path / "keys", "correct horse")
    assert again.signing_key().key_id == new.key_id
    assert again.sm2_key().key_id == sm2_key.key_id
    assert {k.key_id: k.current for k in again.list()} == {
        first.key_id: False,
        new.key_id: True,
        sm2_key.key_id: True,
    }
    assert {k.algorithm for k in again.list() if k.key_id == sm2_key.key_id} == {SM2_ALGORITHM}
    with pytest.raises(Exception, match="PRESERVE_KEY_PASSPHRASE"):
        Keyring(tmp_path / "keys", "wrong").signing_key()


def test_get_v1_keys_publishes_every_key_with_its_revocation(rt, client, make_token):
    old = rt.signing_key.key_id
    rt.keyring.rotate()
    rt.keyring.revoke(old, utcnow(), "private key exposed")

    keys = client.get("/v1/keys", headers={"Authorization": f"Bearer {make_token()}"}).json()
    by_id = {k["key_id"]: k for k in keys}
    assert by_id[old]["revoked_from"] is not None
    assert by_id[old]["revocation_reason"] == "private key exposed"
    assert by_id[old]["current"] is False
    assert [k["current"] for k in keys].count(True) == 1
    assert all("PRIVATE" not in k["public_key_pem"] for k in keys)
    assert client.get("/v1/keys").status_code == 401


def test_keys_commands_and_their_events(tmp_path, database_url):
    write_profile(tmp_path / "profiles", tmp_path / "stores")
    env = cli_env(tmp_path / "var", database_url, tmp_path / "profiles")
    assert run_cli(env, "db", "upgrade").returncode == 0

    listed = run_cli(env, "keys", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    [first] = json.loads(listed.stdout)
    rotated = run_cli(env, "keys", "rotate", "--reason", "yearly")
    assert rotated.returncode == 0, rotated.stderr
    refused = run_cli(env, "keys", "revoke", first["key_id"], "--reason", "x", "--from", "bad")
    assert refused.returncode != 0
    revoked = run_cli(env, "keys", "revoke", first["key_id"], "--reason", "exposed")
    assert revoked.returncode == 0, revoked.stderr
    again = run_cli(env, "keys", "revoke", "ffffffffffffffff", "--reason", "x")
    assert again.returncode == 1 and again.stderr.startswith("error: no key ffffffffffffffff")
    exported = run_cli(env, "keys", "export-public", "--out", str(tmp_path / "public.json"))
    assert exported.returncode == 0, exported.stderr

    doc = json.loads((tmp_path / "public.json").read_text())
    assert len(doc["keys"]) == 2
    assert "PRIVATE" not in (tmp_path / "public.json").read_text()
    [old] = [k for k in doc["keys"] if k["key_id"] == first["key_id"]]
    assert old["revoked_from"] and old["revocation_reason"] == "exposed"

    from preserve.catalog.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            events = session.scalars(select(Event).order_by(Event.seq)).all()
    finally:
        engine.dispose()
    assert [e.type for e in events] == ["key rotation", "key revocation", "key export"]
    assert all(e.agent.endswith("as security officer") and e.seq for e in events)
