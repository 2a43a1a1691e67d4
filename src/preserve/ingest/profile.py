"""Ingest profiles: what an archive asks of one agency's transfers.

A profile is a JSON document (the shipped default: ``profiles/default.json`` beside this file)
holding the metadata JSON Schema (checks 2-3, 2-4, 1-3, 1-4), the items whose absence is only a
warning, the 档号 pattern (1-7), whether a 档号 already held fails or warns (1-8; the shipped
default warns, as the foundation accepted repeated codes), the format
policy (3-3) and the engines that identify formats (``identification.engines``:
``siegfried+fido``, ``fido`` or ``siegfried``), what a failed format validation does and its
caps (3-4, ``validation``; see
:mod:`preserve.ingest.validation.policy`), the unpacking limits (P-1), the clamd address
(4-2) and how long an unfinished resumable upload is kept. The profile used for an agency is
the first that exists of ``<profiles_dir>/ingest/<agency>.json``,
``<profiles_dir>/ingest/default.json`` and the shipped default; a file may give only some
keys, the rest come from the shipped default.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from preserve.errors import ConfigurationError
from preserve.ingest.checks import Result
from preserve.ingest.identify.model import DEFAULT_ENGINES, ENGINE_CHOICES
from preserve.ingest.validation.policy import ValidationPolicy

SHIPPED = Path(__file__).with_name("profiles") / "default.json"
_SAFE_NAME = re.compile(r"^[\w.\-]+$")


@dataclass(frozen=True)
class FormatPolicy:
    preferred: frozenset[str]
    accepted: frozenset[str]
    rejected: frozenset[str]
    unlisted: Result
    unidentified: Result

    def judge(self, puid: str | None) -> tuple[Result, str]:
        if puid is None:
            return self.unidentified, "format not identified"
        if puid in self.rejected:
            return Result.FAIL, f"{puid} is rejected by the format policy"
        if puid in self.preferred:
            return Result.PASS, f"{puid} is a preferred format"
        if puid in self.accepted:
            return Result.PASS, f"{puid} is an accepted format"
        return self.unlisted, f"{puid} is not listed by the format policy"


@dataclass(frozen=True)
class UnpackLimits:
    max_files: int
    max_total_bytes: int
    max_expansion_ratio: float
    max_path_bytes: int
    max_tag_file_bytes: int  # all tag files together
    max_one_tag_bytes: int = 256 * 1024  # one tag file other than a manifest (settings)
    max_manifest_bytes: int = 32 * 1024**2  # one (tag) manifest (settings)


@dataclass(frozen=True)
class IngestProfile:
    name: str
    metadata_schema: dict[str, Any]
    recommended: tuple[str, ...]
    archival_code_pattern: re.Pattern[str]
    duplicate_archival_code: Result
    format_policy: FormatPolicy
    limits: UnpackLimits
    clamd: str | None
    virus_check_required: bool
    upload_expire_hours: float
    validation: ValidationPolicy = field(default_factory=ValidationPolicy)
    # which engines identify formats (3-3): "siegfried+fido", "fido" or "siegfried"
    identification_engines: str = DEFAULT_ENGINES

    @functools.cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(
            self.metadata_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
        )

    @classmethod
    def from_document(cls, doc: dict[str, Any], base: Path | None = None) -> IngestProfile:
        try:
            Draft202012Validator.check_schema(doc["metadata_schema"])
            policy, limits = doc["format_policy"], doc["limits"]
            virus = doc.get("virus_check") or {}
            return cls(
                name=str(doc["name"]),
                metadata_schema=doc["metadata_schema"],
                recommended=tuple(doc.get("recommended", ())),
                archival_code_pattern=re.compile(doc["archival_code_pattern"]),
                duplicate_archival_code=Result(doc.get("duplicate_archival_code", "fail")),
                format_policy=FormatPolicy(
                    frozenset(policy.get("preferred", ())),
                    frozenset(policy.get("accepted", ())),
                    frozenset(policy.get("rejected", ())),
                    Result(policy.get("unlisted", "warn")),
                    Result(policy.get("unidentified", "warn")),
                ),
                limits=UnpackLimits(**limits),
                clamd=virus.get("clamd"),
                virus_check_required=bool(virus.get("required", False)),
                upload_expire_hours=float((doc.get("uploads") or {}).get("expire_hours", 72)),
                validation=ValidationPolicy.from_document(doc.get("validation"), base),
                identification_engines=_engines(doc.get("identification")),
            )
        except (KeyError, TypeError, ValueError, re.error, SchemaError) as exc:
            raise ConfigurationError(f"ingest profile is not valid: {exc}") from exc


def _engines(section: Any) -> str:
    engines = (section or {}).get("engines", DEFAULT_ENGINES)
    if engines not in ENGINE_CHOICES:
        raise ValueError(f"identification.engines must be one of {', '.join(ENGINE_CHOICES)}")
    return engines


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"ingest profile {path} cannot be read: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigurationError(f"ingest profile {path} is not a JSON object")
    return doc


def profile_path(profiles_dir: Path, agency: str) -> Path:
    folder = profiles_dir / "ingest"
    if _SAFE_NAME.match(agency) and (folder / f"{agency}.json").is_file():
        return folder / f"{agency}.json"
    if (folder / "default.json").is_file():
        return folder / "default.json"
    return SHIPPED


def load_profile(profiles_dir: Path, agency: str) -> IngestProfile:
    """The profile for ``agency``: its own file over the shipped default, key by key.

    Built once per content of its file (the digest of its bytes: modification times are
    too coarse to tell two quick edits apart): every SIP asks for its agency's profile, and
    checking the metadata schema against the JSON Schema meta-schema cost two thirds of a
    small SIP's request. An edited profile is picked up at the next request; a profile that
    is not valid is never kept, so each request says so again."""
    path = profile_path(profiles_dir, agency)
    return _loaded(profiles_dir, path, _version(path))


def _version(path: Path) -> bytes:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return b""  # _read says what is wrong


@functools.lru_cache(maxsize=256)
def _loaded(profiles_dir: Path, path: Path, version: bytes) -> IngestProfile:
    doc = _read(SHIPPED)
    if path != SHIPPED:
        own = _read(path)
        doc = {**doc, **own, "name": own.get("name", path.stem)}
    return IngestProfile.from_document(doc, profiles_dir / "ingest")
