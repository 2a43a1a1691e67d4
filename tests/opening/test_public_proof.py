"""Anyone can check that a file read on the public face is the one the archive preserved,
with nothing of ours: SHA-256, the manifests and the Ed25519 signature over the tag manifest,
checked here with ``hashlib`` and ``cryptography`` alone, from public answers only."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from support.ingest import ingest
from support.opening import People, open_records, text_pdf


def _digests(manifest: str) -> dict[str, str]:
    pairs = (line.split(maxsplit=1) for line in manifest.splitlines() if line.strip())
    return {path.strip(): digest for digest, path in pairs}


def test_a_public_file_checks_out_against_the_signed_manifest(rt, client, make_token):
    people = People(make_token)
    aip = ingest(rt, client, make_token, {"doc.pdf": text_pdf("Harbour")}, title="港口",
                 archival_code="A001-WS-1990-Y-0501", date="1990-01-01")  # fmt: skip
    open_records(rt, client, people, aip)
    record = client.get(f"/public/v1/records/{aip}").json()
    body = client.get(record["files"][0]["url"]).content
    proof = client.get(record["signature_url"]).json()
    keys = {k["key_id"]: k["public_key_pem"] for k in client.get("/public/v1/keys").json()}

    manifest = proof["manifest-sha256.txt"]
    assert _digests(manifest)["data/doc.pdf"] == hashlib.sha256(body).hexdigest()
    tagmanifest = proof["tagmanifest-sha256.txt"]
    want = hashlib.sha256(manifest.encode()).hexdigest()
    assert _digests(tagmanifest)["manifest-sha256.txt"] == want
    signature = proof["signature"]
    attributes = signature["signed_attributes"]
    assert json.loads(attributes)["sha256"] == hashlib.sha256(tagmanifest.encode()).hexdigest()
    public_key = load_pem_public_key(keys[signature["key_id"]].encode())
    public_key.verify(
        base64.b64decode(signature["signature"]), attributes.encode()
    )  # raises if not

    assert client.get("/public/docs").status_code == 404  # no page that loads assets from elsewhere
