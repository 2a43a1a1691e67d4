"""Serving an open record's file from a verified copy, and the proof of its authenticity.

The bytes come through the access package's verified path (preserve.access.files): the copy
is one the catalogue holds as verified, and the last chunk is released only once its SHA-256
matches the catalogue. PDFs and raster images are served ``inline`` so a browser shows them in
the page; everything else (HTML and SVG above all) is an ``attachment``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi.responses import StreamingResponse

from preserve.access import files as access_files
from preserve.access.public_catalogue import PublicNotFound, load_open_record
from preserve.access.sources import Attempts, iter_sources
from preserve.aip.layout import aip_key
from preserve.errors import IntegrityError, PreserveError
from preserve.runtime import Runtime
from preserve.storage.base import read_bytes

INLINE = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})


def stream_file(rt: Runtime, record_id: str, path: str, download: bool) -> StreamingResponse:
    with rt.readonly_sessions.begin() as session:
        record = load_open_record(session, record_id)
    facts = record.files.get(path)
    if facts is None:
        raise PublicNotFound()
    media_type = access_files.content_type(path)
    disposition = access_files.content_disposition(path)
    if not download and media_type in INLINE:
        disposition = "inline" + disposition.removeprefix("attachment")
    chosen, stream = access_files.open_payload(rt.stores, record, path, None)
    headers = {
        "Content-Length": str(facts.size),
        "ETag": access_files.etag(facts),
        "Repr-Digest": access_files.repr_digest(facts),
        "X-Checksum-SHA256": facts.sha256,
        "Content-Disposition": disposition,
    }
    body = access_files.iter_verified(stream, path, facts, chosen)
    return StreamingResponse(body, headers=headers, media_type=media_type)


def proof(rt: Runtime, record_id: str) -> dict[str, Any]:
    """The signed tag manifest, its signature and the payload manifest it covers, from a copy
    whose signature verified: enough for anyone to check a downloaded file offline."""
    with rt.readonly_sessions.begin() as session:
        record = load_open_record(session, record_id)
    trusted = rt.keyring.trusted()
    attempts = Attempts()
    for source in iter_sources(rt.stores, trusted, record, None, attempts):
        try:
            manifest = read_bytes(source.store, aip_key(record.aip_id, "manifest-sha256.txt"))
            if hashlib.sha256(manifest).hexdigest() != source.tag_sha256.get("manifest-sha256.txt"):
                raise IntegrityError(f"{source.target}: manifest-sha256.txt does not match")
        except PreserveError as exc:
            attempts.add(source.target, exc)
            continue
        return {
            "id": record.aip_id,
            "key_id": source.signature.key_id,
            "tagmanifest-sha256.txt": source.tagmanifest.decode("utf-8"),
            "manifest-sha256.txt": manifest.decode("utf-8"),
            "signature": json.loads(source.signature.to_json()),
            "how_to_verify": HOW_TO_VERIFY,
        }
    raise attempts.error(record.aip_id)


HOW_TO_VERIFY = (
    "1. sha256sum the downloaded file; find the digest beside data/<path> in manifest-sha256.txt. "
    "2. sha256sum manifest-sha256.txt (as given here); find it in tagmanifest-sha256.txt. "
    "3. In signature, signed_attributes is a JSON text whose sha256 is the sha256 of "
    "tagmanifest-sha256.txt; verify signature.signature (base64) over the UTF-8 bytes of "
    "signed_attributes with the public key key_id from /public/v1/keys (Ed25519 unless algorithm "
    "says SM2)."
)
