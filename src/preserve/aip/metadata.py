"""What an AIP's metadata tag files say, parsed from their bytes (no store, no signatures).

The payload-file record (:class:`FileRecord`) is declared once here: the bag reader builds it,
the catalogue's ``files`` rows are made from it and the API's file schema is derived from it.
Reading the bytes from a store and proving them against the signed tag manifest is the
caller's part (:mod:`preserve.access.bag_reader`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from preserve.aip import bag as bagit
from preserve.errors import IntegrityError, PreserveError

RECORD = "metadata/record.json"
FORMATS = "metadata/formats.json"
EVENTS = "metadata/events.json"
RECEIPT = "metadata/receipt.json"
CHECKS = "metadata/checks.json"
CREATED_KEY = "aip_created_at"
"""record.json key for the AIP's creation time, when the bag carries it (see catalog rebuild)."""


@dataclass(frozen=True)
class FileRecord:
    """One payload file of an AIP; ``path`` is relative to the bag's ``data/``."""

    path: str
    size: int
    sha256: str
    sha512: str
    puid: str | None
    format_name: str | None
    format_method: str | None
    validation: str | None = None
    """Check 3-4 (the file opens): ``pass``, ``warn`` or ``fail``; None before validation."""
    validation_detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, row: Any) -> FileRecord:
        """From anything with the same attributes (a catalogue ``File`` row, say)."""
        return cls(**{name: getattr(row, name) for name in FILE_FIELDS})


FILE_FIELDS = tuple(f.name for f in fields(FileRecord))


def json_tag(tags: dict[str, bytes], name: str, kind: type = dict) -> Any:
    if name not in tags:
        raise IntegrityError(f"the bag has no signed {name}")
    try:
        doc = json.loads(tags[name])
    except ValueError as exc:
        raise IntegrityError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(doc, kind):
        raise IntegrityError(f"{name} is not a JSON {kind.__name__}")
    return doc


def manifest_tag(tags: dict[str, bytes], name: str) -> dict[str, str]:
    if name not in tags:
        raise IntegrityError(f"the bag has no signed {name}")
    try:
        return bagit.parse_manifest(tags[name])
    except ValueError as exc:
        raise IntegrityError(f"{name} is malformed: {exc}") from None


def record_field(record: dict[str, Any], name: str) -> Any:
    if record.get(name) in (None, ""):
        raise IntegrityError(f"{RECORD} has no {name!r}")
    return record[name]


def iso_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise IntegrityError(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise IntegrityError(f"{value!r} has no time zone")
    return parsed


def event_time(event: dict[str, Any]) -> datetime | None:
    try:
        return iso_time(event.get("time", ""))
    except PreserveError:
        return None


def check_oxum(bag_info: bytes, files: list[FileRecord]) -> None:
    """``Payload-Oxum`` in bag-info.txt, when there, against the files' sizes and count."""
    for line in bag_info.decode("utf-8", "replace").splitlines():
        label, _, value = line.partition(":")
        if label.strip().lower() == "payload-oxum":
            want = value.strip()
            got = f"{sum(f.size for f in files)}.{len(files)}"
            if want != got:
                raise IntegrityError(f"Payload-Oxum is {want} but the stored payload is {got}")
