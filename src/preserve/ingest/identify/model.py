"""What an identification says: the matches, the registry and tool, the engines consulted and
where they disagreed. Engine-neutral: the format policy works on PUIDs whatever engine answered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PAIR = "siegfried+fido"
ENGINE_CHOICES = (PAIR, "fido", "siegfried")  # the ingest profile's identification.engines
DEFAULT_ENGINES = PAIR


@dataclass(frozen=True)
class FormatMatch:
    puid: str
    name: str
    version: str | None
    mime: str | None
    # "signature", "container", "extension" (fido's match types), "text" (siegfried's text
    # match) or "local" (our OFD rule)
    method: str

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies, 0.2 ms a file on a SIP of 10,000 files
        return {
            "puid": self.puid,
            "name": self.name,
            "version": self.version,
            "mime": self.mime,
            "method": self.method,
        }


OFD_MATCH = FormatMatch("preserve-fmt/ofd", "OFD (GB/T 33190)", None, "application/ofd", "local")


@dataclass(frozen=True)
class Identification:
    path: str
    matches: tuple[FormatMatch, ...]  # every match, best first; empty: unidentified
    registry: str
    tool: str
    error: str | None = None  # why identification failed, when it did
    engines: tuple[str, ...] = ()  # the engines consulted, in order, with their signatures
    disagreement: str | None = None  # where two engines gave different formats: both answers

    @property
    def puid(self) -> str | None:
        return self.matches[0].puid if self.matches else None

    @property
    def format_name(self) -> str | None:
        return self.matches[0].name if self.matches else None

    @property
    def method(self) -> str | None:
        return self.matches[0].method if self.matches else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "puid": self.puid,
            "format_name": self.format_name,
            "method": self.method,
            "matches": [m.to_dict() for m in self.matches],
            "registry": self.registry,
            "tool": self.tool,
            "error": self.error,
            "engines": list(self.engines),
            "disagreement": self.disagreement,
        }
