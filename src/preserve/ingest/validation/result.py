"""What one validator says about one file (check 3-4), and the limits it runs under."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preserve.ingest.checks import Result


@dataclass(frozen=True)
class Finding:
    """A validator's verdict: ``where`` names the page, byte offset or package part at fault."""

    outcome: Result
    detail: str
    where: str | None = None


def passed(detail: str) -> Finding:
    return Finding(Result.PASS, detail)


def warned(detail: str, where: str | None = None) -> Finding:
    return Finding(Result.WARN, detail, where)


def failed(detail: str, where: str | None = None) -> Finding:
    return Finding(Result.FAIL, detail, where)


@dataclass(frozen=True)
class Limits:
    """Per-file bounds, applied in the validating process (see :mod:`.pool`)."""

    timeout_seconds: float = 120.0
    memory_bytes: int = 2 * 1024**3
    max_image_pixels: int | None = 89_478_485  # Pillow's default; twice this is a bomb
    max_part_bytes: int = 64 * 1024**2  # one XML part of an OFD/OOXML/ODF package
    ofd_xsd_dir: Path | None = None


@dataclass(frozen=True)
class Item:
    """One file to validate: where it is now, its path in the SIP, and its identification."""

    path: Path
    shown: str
    puid: str | None
    mime: str | None = None


@dataclass(frozen=True)
class Validation:
    path: str
    puid: str | None
    family: str | None  # None: no validator for this format
    outcome: Result
    detail: str
    tool: str
    where: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "puid": self.puid,
            "family": self.family,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "where": self.where,
            "tool": self.tool,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Validation:
        return cls(
            doc["path"],
            doc.get("puid"),
            doc.get("family"),
            Result(doc["outcome"]),
            doc["detail"],
            doc.get("tool", ""),
            doc.get("where"),
        )
