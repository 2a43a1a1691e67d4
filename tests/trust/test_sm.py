"""国密: SM3 matches GB/T 32905, SM2 signatures are standard, and 国密 bags verify in audit and
restore, where a changed byte is caught by each algorithm on its own."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from preserve.access.restore import restore_aip
from preserve.aip import bag
from preserve.aip.bag import manifest_text, parse_manifest
from preserve.aip.layout import aip_prefix
from preserve.audit.service import AuditOutcome
from preserve.errors import IntegrityError
from preserve.jobs.tasks.audit import audit_all
from preserve.jobs.worker import drain
from preserve.trust import guomi, sm2
from preserve.trust.signing import SM2_ALGORITHM, Signature, sign, verify
from support.records import MINIMAL_PDF, form, metadata

# GB/T 32905-2016 Appendix A, examples 1 and 2.
SM3_VECTORS = {
    b"abc": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    b"abcd" * 16: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
}


@pytest.mark.parametrize("message", list(SM3_VECTORS))
def test_sm3_matches_the_gbt_32905_vectors(message):
    assert guomi.sm3_hex(message) == SM3_VECTORS[message]
    with pytest.MonkeyPatch.context():
        import io

        assert guomi.sm3_of_stream(io.BytesIO(message)) == SM3_VECTORS[message]


# --- an independent SM2 verifier (GB/T 32918.2), to show OpenSSL's signatures are standard ---
P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
A = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC", 16)
B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
G = (
    int("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7", 16),
    int("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", 16),
)


def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    if p1[0] == p2[0] and (p1[1] + p2[1]) % P == 0:
        return None
    if p1 == p2:
        lam = (3 * p1[0] * p1[0] + A) * pow(2 * p1[1], -1, P) % P
    else:
        lam = (p2[1] - p1[1]) * pow(p2[0] - p1[0], -1, P) % P
    x = (lam * lam - p1[0] - p2[0]) % P
    return x, (lam * (p1[0] - x) - p1[1]) % P


def _mul(k, point):
    result = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def _der_integers(der: bytes) -> tuple[int, int]:
    assert der[0] == 0x30
    i, values = 2, []
    while i < len(der):
        assert der[i] == 0x02
        length = der[i + 1]
        values.append(int.from_bytes(der[i + 2 : i + 2 + length], "big"))
        i += 2 + length
    return values[0], values[1]


def reference_sm2_verify(point: bytes, message: bytes, signature: bytes) -> bool:
    xa, ya = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    ident = sm2.DISTID.encode()
    za = hashlib.new(
        "sm3",
        len(ident * 8).to_bytes(2, "big")
        + ident
        + b"".join(v.to_bytes(32, "big") for v in (A, B, *G, xa, ya)),
    ).digest()
    e = int.from_bytes(hashlib.new("sm3", za + message).digest(), "big")
    r, s = _der_integers(signature)
    t = (r + s) % N
    if not (0 < r < N and 0 < s < N and t):
        return False
    x1 = _add(_mul(s, G), _mul(t, (xa, ya)))[0]
    return (e + x1) % N == r


def test_sm2_signatures_are_standard_and_tamper_evident(tmp_path):
    key = sm2.generate(tmp_path / "k.pem")
    message = "关于2024年档案工作的通知".encode()
    signature = key.sign(message)

    assert reference_sm2_verify(key.public.point, message, signature)
    assert not reference_sm2_verify(key.public.point, message + b"x", signature)
    assert key.public.verify(signature, message)
    assert not key.public.verify(signature, message + b"x")
    other = sm2.generate(tmp_path / "other.pem")
    assert not other.public.verify(signature, message)
    assert sm2.Sm2PublicKey.from_pem(key.public_pem()) == key.public

    doc = sign(key, message, "tagmanifest-sm3.txt")
    assert doc.algorithm == SM2_ALGORITHM
    verify(Signature.from_json(doc.to_json()), message, {key.key_id: key.public})
    with pytest.raises(IntegrityError, match="does not match"):
        verify(doc, message + b"x", {key.key_id: key.public})
    with pytest.raises(IntegrityError, match="unknown key"):
        verify(doc, message, {other.key_id: other.public})


def test_sm2_keys_at_rest_are_0600_and_refused_when_readable(tmp_path):
    path = tmp_path / "k.pem"
    sm2.generate(path, "secret")
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in path.read_bytes()
    path.chmod(0o644)
    with pytest.raises(Exception, match="chmod 600"):
        sm2.load(path, "secret")


# --- 国密 bags through ingest, audit and restore -------------------------------------------
FILES = {"docs/notice.pdf": MINIMAL_PDF, "附件/说明.txt": "说明文字\n".encode() * 50}


@pytest.fixture
def guomi_aip(rt, client, make_token, settings) -> str:
    profile = settings.profiles_dir / "local.toml"
    text = profile.read_text()
    profile.write_text(re.sub(r"\[policy\]\n", "[policy]\nguomi = true\n", text, count=1))
    headers = {"Authorization": f"Bearer {make_token()}"}
    response = client.post("/v1/sips", **form(FILES, metadata(), headers=headers))
    assert response.status_code == 202, response.text
    drain(rt)
    sip = client.get(f"/v1/sips/{response.json()['id']}", headers=headers).json()
    assert sip["state"] == "PRESERVED", sip
    return sip["aip_id"]


def replica(rt, aip_id: str, target: str) -> Path:
    return Path(rt.profile().target(target).root) / aip_prefix(aip_id)


def outcomes(rt) -> dict[str, list[tuple[str, str]]]:
    return {a.target: [(p.path, p.detail.split(" ")[0]) for p in a.problems] for a in audit_all(rt)}


def test_a_guomi_bag_carries_sm3_manifests_and_an_sm2_signature(rt, guomi_aip):
    import bagit

    root = replica(rt, guomi_aip, "site-a-disk")
    sm3_manifest = parse_manifest((root / guomi.SM3_MANIFEST).read_bytes())
    for path, content in FILES.items():
        assert sm3_manifest[f"data/{path}"] == guomi.sm3_hex(content)
    signed = parse_manifest((root / bag.TAGMANIFEST).read_bytes())
    assert {guomi.SM3_TAGMANIFEST, guomi.SM2_SIGNATURE, guomi.SM3_MANIFEST} <= set(signed)
    sm2_sig = Signature.from_json((root / guomi.SM2_SIGNATURE).read_bytes())
    assert sm2_sig.key_id == rt.keyring.sm2_key().key_id
    assert sm2_sig.key_id in rt.trusted_keys()
    bagit.Bag(str(root)).validate()  # the sha256/sha512 side stays a plain valid bag
    assert all(a.outcome == AuditOutcome.OK for a in audit_all(rt))


def test_a_changed_payload_byte_is_caught_by_sha256_and_by_sm3(rt, guomi_aip):
    victim = replica(rt, guomi_aip, "site-b-nas") / "data" / "附件" / "说明.txt"
    data = bytearray(victim.read_bytes())
    data[7] ^= 0x01
    victim.write_bytes(bytes(data))

    found = outcomes(rt)
    assert found["site-a-disk"] == []
    assert ("data/附件/说明.txt", "sha256") in found["site-b-nas"]
    assert ("data/附件/说明.txt", "sm3") in found["site-b-nas"]


def test_a_changed_sm3_manifest_byte_is_caught_by_both_tag_manifests(rt, guomi_aip):
    victim = replica(rt, guomi_aip, "site-b-nas") / guomi.SM3_MANIFEST
    data = bytearray(victim.read_bytes())
    data[3] = ord("0") if data[3] != ord("0") else ord("1")
    victim.write_bytes(bytes(data))

    found = outcomes(rt)["site-b-nas"]
    assert (guomi.SM3_MANIFEST, "sha256") in found
    assert any(
        p == guomi.SM3_TAGMANIFEST and d.startswith(f"{guomi.SM3_MANIFEST} has sm3")
        for p, d in _raw(rt)
    )


def _raw(rt):
    return [
        (p.path, p.detail) for a in audit_all(rt) if a.target == "site-b-nas" for p in a.problems
    ]


def test_an_sm2_signature_by_a_foreign_key_is_signature_invalid(rt, guomi_aip, tmp_path):
    root = replica(rt, guomi_aip, "site-a-disk")
    intruder = sm2.generate(tmp_path / "intruder.pem")
    tagmanifest = (root / guomi.SM3_TAGMANIFEST).read_bytes()
    (root / guomi.SM2_SIGNATURE).write_bytes(sign(intruder, tagmanifest, "x").to_json())

    audits = {a.target: a for a in audit_all(rt)}
    assert audits["site-a-disk"].outcome == AuditOutcome.SIGNATURE_INVALID
    assert any(f"unknown key {intruder.key_id}" in p.detail for p in audits["site-a-disk"].problems)
    assert audits["site-b-nas"].outcome == AuditOutcome.OK


def test_restore_refuses_an_sm3_side_rewritten_with_the_sm2_key_alone(rt, guomi_aip, tmp_path):
    good = restore_aip(
        rt.store("local", "site-a-disk"), guomi_aip, tmp_path / "ok", rt.trusted_keys()
    )
    assert good.files == 2
    assert (tmp_path / "ok" / "附件" / "说明.txt").read_bytes() == FILES["附件/说明.txt"]

    # An insider who holds only the SM2 key rewrites the SM3 side and signs it again: the SM2
    # signature verifies, but the whole-bag check finds the SM3 files differ from what the
    # signed sha256 tag manifest lists, before a byte is restored.
    root = replica(rt, guomi_aip, "site-b-nas")
    entries = parse_manifest((root / guomi.SM3_MANIFEST).read_bytes())
    entries["data/docs/notice.pdf"] = "0" * 64
    (root / guomi.SM3_MANIFEST).write_bytes(manifest_text(entries.items()))
    tags = parse_manifest((root / guomi.SM3_TAGMANIFEST).read_bytes())
    tags[guomi.SM3_MANIFEST] = guomi.sm3_hex((root / guomi.SM3_MANIFEST).read_bytes())
    tagmanifest = manifest_text(tags.items())
    (root / guomi.SM3_TAGMANIFEST).write_bytes(tagmanifest)
    resigned = sign(rt.keyring.sm2_key(), tagmanifest, guomi.SM3_TAGMANIFEST)
    (root / guomi.SM2_SIGNATURE).write_bytes(resigned.to_json())

    with pytest.raises(IntegrityError, match=r"manifest-sm3\.txt does not match the signed tag"):
        restore_aip(rt.store("local", "site-b-nas"), guomi_aip, tmp_path / "bad", rt.trusted_keys())
    assert not (tmp_path / "bad").exists()
    assert not list(tmp_path.glob(".bad.partial-*"))


def test_a_profile_without_guomi_makes_plain_bags(rt, client, make_token):
    headers = {"Authorization": f"Bearer {make_token()}"}
    response = client.post("/v1/sips", **form(FILES, metadata(), headers=headers))
    drain(rt)
    aip_id = client.get(f"/v1/sips/{response.json()['id']}", headers=headers).json()["aip_id"]
    root = replica(rt, aip_id, "site-a-disk")
    assert not (root / guomi.SM3_MANIFEST).exists()
    assert guomi.guomi_problems(rt.store("local", "site-a-disk"), aip_id, rt.trusted_keys()) == []
