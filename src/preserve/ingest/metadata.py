"""The record metadata an agency sends with a SIP (the DA/T 46 core, English field names)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from preserve.errors import InvalidInput

Retention = Literal["permanent", "30y", "10y"]


class InvalidMetadata(InvalidInput):
    slug = "invalid-metadata"
    title = "The record metadata is not valid"


class FileDeclaration(BaseModel):
    """What the sender says about one file; a declared digest is checked against the bytes."""

    model_config = ConfigDict(extra="forbid")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class RecordMetadata(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=2000)
    creator: str = Field(min_length=1, max_length=500)
    date: dt.date
    retention: Retention
    archival_code: str = Field(min_length=1, max_length=200)
    files: dict[str, FileDeclaration] = Field(default_factory=dict)


MAX_METADATA_BYTES = 1024 * 1024


def parse_metadata(raw: bytes | str) -> RecordMetadata:
    if isinstance(raw, bytes):
        if len(raw) > MAX_METADATA_BYTES:
            raise InvalidMetadata(f"metadata is larger than {MAX_METADATA_BYTES} bytes")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidMetadata("metadata is not UTF-8 text") from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidMetadata(
            f"metadata is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    if not isinstance(doc, dict):
        raise InvalidMetadata("metadata must be a JSON object")
    try:
        return RecordMetadata.model_validate(doc)
    except ValidationError as exc:
        errors = [_describe(e) for e in exc.errors()]
        raise InvalidMetadata("metadata: " + "; ".join(errors), errors=errors) from None


def _describe(err: dict[str, Any]) -> str:
    where = ".".join(str(x) for x in err["loc"])
    if err["type"] == "missing":
        return f"required field '{where}' is missing"
    return f"'{where}': {err['msg']}"
