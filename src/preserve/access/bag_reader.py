"""Reading what a stored AIP says about itself, every tag file checked against its signature.

This is what makes the stores the truth (DESIGN.md principle 1): from a bag alone come the
agency, the SIP and AIP identifiers, the profile, the record metadata, every payload file with
its size, sha256 and sha512, the format identifications and the events up to packaging.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from preserve.access.restore import read_bag_head
from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.digests import hash_stream
from preserve.errors import IntegrityError, PreserveError
from preserve.storage.base import Store, read_bytes

RECORD = "metadata/record.json"
FORMATS = "metadata/formats.json"
EVENTS = "metadata/events.json"
RECEIPT = "metadata/receipt.json"
CHECKS = "metadata/checks.json"
CREATED_KEY = "aip_created_at"
"""record.json key for the AIP's creation time, when the bag carries it (see catalog rebuild)."""


@dataclass(frozen=True)
class PayloadFile:
    path: str
    size: int
    sha256: str
    sha512: str
    puid: str | None
    format_name: str | None
    format_method: str | None


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
    files: list[PayloadFile]
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
    tags = {name: read_bytes(store, aip_key(aip_id, name)) for name in head.tag_sha256}
    for name, want in head.tag_sha256.items():
        if hashlib.sha256(tags[name]).hexdigest() != want:
            raise IntegrityError(f"{name} does not match the signed tag manifest")
    record = _json(tags, RECORD)
    if record.get("aip_id") != aip_id:
        raise IntegrityError(f"{RECORD} names AIP {record.get('aip_id')!r}, stored as {aip_id}")
    sha512 = {p.removeprefix("data/"): d for p, d in _manifest(tags, "manifest-sha512.txt").items()}
    formats = {e.get("path"): e for e in _json(tags, FORMATS, list)}
    files = [
        _payload_file(store, aip_id, path, digest, sha512.get(path), formats.get(path), deep)
        for path, digest in sorted(head.payload.items())
    ]
    _check_oxum(tags.get("bag-info.txt", b""), files)
    return BagFacts(
        aip_id=aip_id,
        sip_id=_field(record, "sip_id"),
        agency=_field(record, "agency"),
        profile=_field(record, "storage_profile"),
        metadata=_field(record, "metadata"),
        received_at=_time(_field(record, "received_at")),
        created_at=_time(record[CREATED_KEY]) if record.get(CREATED_KEY) else None,
        key_id=head.signature.key_id,
        tagmanifest_sha256=hashlib.sha256(head.tagmanifest).hexdigest(),
        files=files,
        events=_json(tags, EVENTS, list),
        tag_sha256=head.tag_sha256,
        source=record.get("source"),
        receipt=_json(tags, RECEIPT) if RECEIPT in tags else None,
        checks=_json(tags, CHECKS).get("checks") if CHECKS in tags else None,
    )


def _payload_file(
    store: Store,
    aip_id: str,
    path: str,
    sha256: str,
    sha512: str | None,
    identification: dict | None,
    deep: bool,
) -> PayloadFile:
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
    return PayloadFile(
        path, size, sha256, sha512, ident.get("puid"), ident.get("format_name"), ident.get("method")
    )


def _check_oxum(bag_info: bytes, files: list[PayloadFile]) -> None:
    for line in bag_info.decode("utf-8", "replace").splitlines():
        label, _, value = line.partition(":")
        if label.strip().lower() == "payload-oxum":
            want = value.strip()
            got = f"{sum(f.size for f in files)}.{len(files)}"
            if want != got:
                raise IntegrityError(f"Payload-Oxum is {want} but the stored payload is {got}")


def _json(tags: dict[str, bytes], name: str, kind: type = dict) -> Any:
    if name not in tags:
        raise IntegrityError(f"the bag has no signed {name}")
    try:
        doc = json.loads(tags[name])
    except ValueError as exc:
        raise IntegrityError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(doc, kind):
        raise IntegrityError(f"{name} is not a JSON {kind.__name__}")
    return doc


def _manifest(tags: dict[str, bytes], name: str) -> dict[str, str]:
    if name not in tags:
        raise IntegrityError(f"the bag has no signed {name}")
    try:
        return bagit.parse_manifest(tags[name])
    except ValueError as exc:
        raise IntegrityError(f"{name} is malformed: {exc}") from None


def _field(record: dict[str, Any], name: str) -> Any:
    if record.get(name) in (None, ""):
        raise IntegrityError(f"{RECORD} has no {name!r}")
    return record[name]


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise IntegrityError(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise IntegrityError(f"{value!r} has no time zone")
    return parsed


def event_time(event: dict[str, Any]) -> datetime | None:
    try:
        return _time(event.get("time", ""))
    except PreserveError:
        return None
