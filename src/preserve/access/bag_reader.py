"""Reading what a stored AIP says about itself, every tag file checked against its signature.

This is what makes the stores the truth (docs/architecture.md, principle 1): from a bag alone
come the agency, the SIP and AIP identifiers, the profile, the record metadata, every payload
file with its size, sha256 and sha512, the format identifications and the events up to
packaging."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from preserve.access.restore import read_bag_head
from preserve.aip import metadata as meta
from preserve.aip.layout import aip_key
from preserve.aip.metadata import (
    CHECKS,
    CREATED_KEY,
    EVENTS,
    FORMATS,
    RECEIPT,
    RECORD,
    FileRecord,
    event_time,
)
from preserve.digests import hash_stream
from preserve.errors import IntegrityError
from preserve.storage.base import Store

__all__ = ["CREATED_KEY", "BagFacts", "check_payload", "event_time", "read_bag"]


@dataclass(frozen=True)
class BagFacts:
    aip_id: str
    sip_id: str
    agency: str
    profile: str
    metadata: dict[str, Any]
    received_at: datetime
    created_at: datetime | None  # None: the bag does not carry it
    key_id: str
    tagmanifest_sha256: str
    files: list[FileRecord]
    events: list[dict[str, Any]]
    tag_sha256: dict[str, str]
    source: str | None = None  # how the SIP came in (bags from before it was recorded: None)
    receipt: dict[str, Any] | None = None  # the signed receipt given to the agency
    checks: list[Any] | None = None  # the four-property check report

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def read_bag(store: Store, aip_id: str, trusted: dict | None, *, deep: bool = False) -> BagFacts:
    """Verify and read one bag. ``deep`` re-hashes the payload; otherwise sizes come from stat."""
    head = read_bag_head(store, aip_id, trusted)
    tags = {name: head.tag_files[name] for name in head.tag_sha256}
    for name, want in head.tag_sha256.items():
        if hashlib.sha256(tags[name]).hexdigest() != want:
            raise IntegrityError(f"{name} does not match the signed tag manifest")
    record = meta.json_tag(tags, RECORD)
    if record.get("aip_id") != aip_id:
        raise IntegrityError(f"{RECORD} names AIP {record.get('aip_id')!r}, stored as {aip_id}")
    sha512_manifest = meta.manifest_tag(tags, "manifest-sha512.txt")
    sha512 = {p.removeprefix("data/"): d for p, d in sha512_manifest.items()}
    formats = {e.get("path"): e for e in meta.json_tag(tags, FORMATS, list)}
    checks = meta.json_tag(tags, CHECKS) if CHECKS in tags else {}
    opened = {v.get("path"): v for v in checks.get("validation") or [] if isinstance(v, dict)}
    files = [
        _payload_file(store, aip_id, path, digest, sha512.get(path), formats.get(path), deep)
        for path, digest in sorted(head.payload.items())
    ]
    files = [_with_validation(f, opened.get(f.path)) for f in files]
    meta.check_oxum(tags.get("bag-info.txt", b""), files)
    return BagFacts(
        aip_id=aip_id,
        sip_id=meta.record_field(record, "sip_id"),
        agency=meta.record_field(record, "agency"),
        profile=meta.record_field(record, "storage_profile"),
        metadata=meta.record_field(record, "metadata"),
        received_at=meta.iso_time(meta.record_field(record, "received_at")),
        created_at=meta.iso_time(record[CREATED_KEY]) if record.get(CREATED_KEY) else None,
        key_id=head.signature.key_id,
        tagmanifest_sha256=hashlib.sha256(head.tagmanifest).hexdigest(),
        files=files,
        events=meta.json_tag(tags, EVENTS, list),
        tag_sha256=head.tag_sha256,
        source=record.get("source"),
        receipt=meta.json_tag(tags, RECEIPT) if RECEIPT in tags else None,
        checks=checks.get("checks") if CHECKS in tags else None,
    )


def check_payload(store: Store, aip_id: str, files: list[FileRecord]) -> None:
    """Re-hash every payload file of a copy against the digests ``files`` record
    (:class:`IntegrityError` naming the first that differs, :class:`ObjectNotFound` if one is
    missing)."""
    for f in files:
        _payload_file(store, aip_id, f.path, f.sha256, f.sha512, None, deep=True)


def _with_validation(record: FileRecord, found: dict | None) -> FileRecord:
    """The file's check 3-4 outcome, as ``metadata/checks.json`` records it."""
    if not found:
        return record
    return replace(record, validation=found.get("outcome"), validation_detail=found.get("detail"))


def _payload_file(
    store: Store,
    aip_id: str,
    path: str,
    sha256: str,
    sha512: str | None,
    identification: dict | None,
    deep: bool,
) -> FileRecord:
    if sha512 is None:
        raise IntegrityError(f"manifest-sha512.txt has no entry for data/{path}")
    key = aip_key(aip_id, f"data/{path}")
    if deep:
        with store.open(key) as stream:
            digests, size = hash_stream(stream, ("sha256", "sha512"))
        if digests != {"sha256": sha256, "sha512": sha512}:
            raise IntegrityError(f"data/{path} does not match the bag's manifests")
    else:
        size = store.stat(key).size
    ident = identification or {}
    return FileRecord(
        path, size, sha256, sha512, ident.get("puid"), ident.get("format_name"), ident.get("method")
    )
