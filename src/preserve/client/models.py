"""Typed results: what the archive answers, as dataclasses (``raw`` keeps the whole answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Sip:
    id: str
    state: str
    agency: str
    aip_id: str | None
    reasons: list[Any]
    metadata: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Sip:
        return cls(
            id=doc["id"],
            state=doc["state"],
            agency=doc.get("agency", ""),
            aip_id=doc.get("aip_id"),
            reasons=doc.get("reasons", []),
            metadata=doc.get("metadata", {}),
            raw=doc,
        )


@dataclass(frozen=True)
class Pushed:
    """A SIP the archive received; ``replayed``: it had it already (same Idempotency-Key)."""

    sip_id: str
    state: str
    idempotency_key: str
    replayed: bool


@dataclass(frozen=True)
class AipFile:
    path: str
    size: int
    sha256: str
    sha512: str
    puid: str | None


@dataclass(frozen=True)
class Aip:
    id: str
    sip_id: str
    agency: str
    title: str
    archival_code: str
    created_at: datetime | None
    files: list[AipFile]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Aip:
        files = [
            AipFile(f["path"], f["size"], f["sha256"], f["sha512"], f.get("puid"))
            for f in doc.get("files", [])
        ]
        return cls(
            id=doc["id"],
            sip_id=doc["sip_id"],
            agency=doc["agency"],
            title=doc["title"],
            archival_code=doc["archival_code"],
            created_at=_time(doc.get("created_at")),
            files=files,
            raw=doc,
        )


@dataclass(frozen=True)
class Item:
    """One row of a list: an AIP or a SIP summary (``raw`` has every field)."""

    id: str
    archival_code: str | None
    title: str | None
    agency: str
    matched_fields: list[str] | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Item:
        return cls(
            id=doc["id"],
            archival_code=doc.get("archival_code"),
            title=doc.get("title"),
            agency=doc.get("agency", ""),
            matched_fields=doc.get("matched_fields"),
            raw=doc,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class StatRow:
    key: str | None
    records: int
    files: int
    bytes: int


@dataclass(frozen=True)
class Statistics:
    by: str
    rows: list[StatRow]


@dataclass(frozen=True)
class Receipt:
    """A signed receipt; ``verified`` once its signature was checked with the archive's keys."""

    receipt: dict[str, Any]
    signature: dict[str, Any]
    document: bytes = field(repr=False)
    verified: bool = False
