"""The ingest profile's ``validation`` section: what a validator's ``fail`` means for the SIP,
and the caps each file is validated under.

::

    "validation": {
      "on_failure": {"pdf": "fail", "ofd": "fail", "image": "fail", "*": "warn",
                     "fmt/18": "warn"},
      "timeout_seconds": 120, "memory_mb": 2048, "max_image_pixels": 89478485,
      "ofd_xsd_dir": null
    }

``on_failure`` maps a PUID, a family or ``*`` (in that order of precedence) to ``fail`` (the
SIP is rejected) or ``warn`` (the SIP is accepted with a warning). ``ofd_xsd_dir``, relative to
the profiles folder, holds the GB/T 33190 XSD files parts are validated against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preserve.ingest.checks import Result
from preserve.ingest.validation.result import Limits

DEFAULT_ON_FAILURE = {"pdf": "fail", "ofd": "fail", "image": "fail", "*": "warn"}


@dataclass(frozen=True)
class ValidationPolicy:
    on_failure: dict[str, Result] = field(
        default_factory=lambda: {k: Result(v) for k, v in DEFAULT_ON_FAILURE.items()}
    )
    limits: Limits = field(default_factory=Limits)

    def disposition(self, puid: str | None, family: str | None) -> Result:
        """What a failed validation of this file does to the SIP: FAIL rejects, WARN does not."""
        for key in (puid, family, "*"):
            if key is not None and key in self.on_failure:
                return self.on_failure[key]
        return Result.WARN

    @classmethod
    def from_document(
        cls, doc: dict[str, Any] | None, base: Path | None = None
    ) -> ValidationPolicy:
        doc = doc or {}
        on_failure = {**DEFAULT_ON_FAILURE, **(doc.get("on_failure") or {})}
        for key, value in on_failure.items():
            if value not in ("fail", "warn"):
                raise ValueError(f"validation.on_failure.{key} must be fail or warn")
        xsd = doc.get("ofd_xsd_dir")
        pixels = doc.get("max_image_pixels", Limits.max_image_pixels)
        limits = Limits(
            timeout_seconds=float(doc.get("timeout_seconds", Limits.timeout_seconds)),
            memory_bytes=int(doc.get("memory_mb", Limits.memory_bytes // 2**20)) * 2**20,
            max_image_pixels=None if pixels is None else int(pixels),
            ofd_xsd_dir=(base / xsd if base else Path(xsd)) if xsd else None,
        )
        if limits.timeout_seconds <= 0:
            raise ValueError("validation.timeout_seconds must be positive")
        return cls({k: Result(v) for k, v in on_failure.items()}, limits)
