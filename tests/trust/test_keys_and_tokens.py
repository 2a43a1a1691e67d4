"""The archive key at rest, detached signatures, and API tokens stored only as digests."""

from __future__ import annotations

import hashlib
import stat
import sys
import threading
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, text

from preserve.catalog.models import Base, Role, Token
from preserve.catalog.types import utcnow
from preserve.errors import ConfigurationError, IntegrityError, Unauthorized
from preserve.trust import keys
from preserve.trust.signing import Signature, sign, verify
from preserve.trust.tokens import TOKEN_PREFIX, authenticate, create_token, hash_token


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_is_created_0600_in_a_0700_directory(tmp_path):
    keys_dir = tmp_path / "var" / "keys"
    key = keys.load_or_create(keys_dir)

    private = keys_dir / keys.PRIVATE_NAME
    assert mode(keys_dir) == 0o700
    assert mode(private) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert (keys_dir / keys.PUBLIC_NAME).read_text() == key.public_pem()


def test_an_existing_directory_is_tightened_to_0700(tmp_path):
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o755)
    keys_dir.chmod(0o755)
    keys.load_or_create(keys_dir)
    assert mode(keys_dir) == 0o700


@pytest.mark.parametrize("loose", [0o640, 0o604, 0o660, 0o644, 0o601])
def test_a_key_others_can_read_is_refused(tmp_path, loose):
    keys.load_or_create(tmp_path)
    (tmp_path / keys.PRIVATE_NAME).chmod(loose)
    with pytest.raises(ConfigurationError, match="chmod 600") as caught:
        keys.load_or_create(tmp_path)
    assert f"mode {loose:o}" in str(caught.value)


def test_the_key_id_is_stable_and_derived_from_the_public_key(tmp_path):
    first = keys.load_or_create(tmp_path)
    second = keys.load_or_create(tmp_path)

    assert first.key_id == second.key_id
    raw = first.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert first.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert list(keys.load_public_keys(tmp_path)) == [first.key_id]
    assert keys.load_or_create(tmp_path / "other").key_id != first.key_id


def test_a_passphrase_encrypts_the_key_at_rest(tmp_path):
    created = keys.load_or_create(tmp_path, "correct horse")
    pem = (tmp_path / keys.PRIVATE_NAME).read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

    assert keys.load_or_create(tmp_path, "correct horse").key_id == created.key_id
    for wrong in ("wrong horse", None):
        with pytest.raises(ConfigurationError, match="PRESERVE_KEY_PASSPHRASE"):
            keys.load_or_create(tmp_path, wrong)


def test_a_key_that_is_not_ed25519_is_refused(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / keys.PRIVATE_NAME
    path.write_bytes(pem)
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="not an Ed25519 key"):
        keys.load_or_create(tmp_path)


def test_concurrent_first_use_yields_one_key(tmp_path):
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for trial in range(20):
            keys_dir = tmp_path / f"trial-{trial}"
            start = threading.Barrier(8)
            results: list[object] = []

            def first_use(keys_dir=keys_dir, start=start, results=results) -> None:
                start.wait()
                try:
                    results.append(keys.load_or_create(keys_dir).key_id)
                except Exception as exc:
                    results.append(exc)

            threads = [threading.Thread(target=first_use) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert all(isinstance(r, str) for r in results), results
            assert len(set(results)) == 1
    finally:
        sys.setswitchinterval(previous)


@pytest.fixture
def key_a(tmp_path) -> keys.SigningKey:
    return keys.load_or_create(tmp_path / "a")


@pytest.fixture
def key_b(tmp_path) -> keys.SigningKey:
    return keys.load_or_create(tmp_path / "b")


DATA = b"0123abcd  bagit.txt\n"


def test_sign_and_verify_round_trip(key_a):
    signature = sign(key_a, DATA, "tagmanifest-sha256.txt")
    again = Signature.from_json(signature.to_json())

    assert again == signature
    assert again.key_id == key_a.key_id
    verify(again, DATA)
    verify(again, DATA, {key_a.key_id: key_a.public})
    with pytest.raises(IntegrityError, match=r"does not match tagmanifest-sha256\.txt"):
        verify(again, DATA + b"x", {key_a.key_id: key_a.public})


def test_a_key_outside_the_trusted_set_is_refused(key_a, key_b):
    by_b = sign(key_b, DATA, "f")
    verify(by_b, DATA)  # self-consistent, so it verifies against its embedded key...
    with pytest.raises(IntegrityError, match=f"unknown key {key_b.key_id}"):
        verify(by_b, DATA, {key_a.key_id: key_a.public})  # ...but it is not ours


def test_a_signature_claiming_a_trusted_key_id_must_be_made_by_that_key(key_a, key_b):
    forged = replace(sign(key_b, DATA, "f"), key_id=key_a.key_id)
    with pytest.raises(IntegrityError, match="does not match"):
        verify(forged, DATA, {key_a.key_id: key_a.public})


def test_a_forged_embedded_public_key_is_refused(key_a, key_b):
    """The embedded key must hash to the key id it claims: B's key cannot pose as A's."""
    forged = replace(sign(key_b, DATA, "f"), key_id=key_a.key_id)
    with pytest.raises(IntegrityError, match="embedded public key does not match"):
        verify(forged, DATA)
    swapped = replace(sign(key_a, DATA, "f"), public_key_pem=key_b.public_pem())
    with pytest.raises(IntegrityError, match="embedded public key does not match"):
        verify(swapped, DATA)


def test_malformed_and_foreign_signatures_are_integrity_errors(key_a):
    signature = sign(key_a, DATA, "f")
    with pytest.raises(IntegrityError, match="unsupported signature algorithm"):
        verify(replace(signature, algorithm="RSA"), DATA)
    for junk in (b"", b"{}", b"not json", b'{"key_id": "x", "signature": "!!"}'):
        with pytest.raises(IntegrityError, match="malformed"):
            Signature.from_json(junk)


def all_cells(rt) -> list[str]:
    """Every value in every table of the catalogue, as text."""
    with rt.engine.connect() as conn:
        return [
            str(value)
            for table in Base.metadata.sorted_tables
            for row in conn.execute(text(f"SELECT * FROM {table.name}"))
            for value in row
        ]


def test_only_the_sha256_of_a_token_is_stored(rt):
    with rt.sessions.begin() as session:
        row, plaintext = create_token(session, "agency-a", Role.SUBMITTER)
        token_id = row.id

    assert plaintext.startswith(TOKEN_PREFIX)
    assert len(plaintext) > 40
    with rt.sessions() as session:
        stored = session.get(Token, token_id)
        assert stored.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
        assert stored.token_hash == hash_token(plaintext)
        assert stored.prefix == "tok_" + stored.token_hash[:12]  # an id, no secret characters
    cells = all_cells(rt)
    assert stored.token_hash in cells
    secret = plaintext[len(TOKEN_PREFIX) :]
    assert not [c for c in cells if any(secret[i : i + 6] in c for i in range(len(secret) - 5))]


def test_authenticate_finds_the_token_and_refuses_wrong_or_revoked_ones(rt):
    with rt.sessions.begin() as session:
        _, officer = create_token(session, "archive", Role.OFFICER)
        _, submitter = create_token(session, "agency-a", Role.SUBMITTER)

    with rt.sessions() as session:
        found = authenticate(session, officer)
        assert (found.role, found.agency.name) == (Role.OFFICER, "archive")
        assert authenticate(session, submitter).agency.name == "agency-a"
        for wrong in ("", officer + "x", officer[:-1], TOKEN_PREFIX, hash_token(officer)):
            with pytest.raises(Unauthorized):
                authenticate(session, wrong)

    with rt.sessions.begin() as session:
        token = session.scalar(select(Token).where(Token.token_hash == hash_token(officer)))
        token.revoked_at = utcnow()

    with rt.sessions() as session:
        with pytest.raises(Unauthorized):
            authenticate(session, officer)
        assert authenticate(session, submitter).role == Role.SUBMITTER
