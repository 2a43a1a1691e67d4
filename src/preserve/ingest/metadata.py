"""The record metadata an agency sends with a SIP, and its checks (DA/T 70 1-2 … 1-7, 2-3, 2-4).

Field names: the DA/T 46 core is accepted under its Chinese or English names and stored under
the English ones (全宗号 fonds, 年度 year, 保管期限 retention, 题名 title, 责任者 creator,
日期 date, 密级 classification, 档号 archival_code); other fields are kept as sent. Values:
永久/30年/10年 become permanent/30y/10y, a date written YYYYMMDD becomes YYYY-MM-DD, a year
given as a number becomes a string, and surrounding white space is dropped.

Which missing items fail and which warn: the profile's JSON Schema ``required`` items fail
(2-3), and so does a required item that is empty (2-4). The shipped default requires what the
foundation's API always required (title, creator, date, retention, archival_code), so a
minimal record is still accepted, and lists the rest of the DA/T 46 core (fonds, year,
classification) as ``recommended``: their absence is a 2-3 warning in the report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from typing import Any

from jsonschema.exceptions import ValidationError as SchemaViolation
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from preserve.errors import InvalidInput, InvalidMetadata
from preserve.ingest.checks import Check, Report
from preserve.ingest.profile import IngestProfile

MAX_METADATA_BYTES = 1024 * 1024
MAX_DEPTH = 64
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
ALIASES = {
    "全宗号": "fonds",
    "年度": "year",
    "保管期限": "retention",
    "题名": "title",
    "责任者": "creator",
    "日期": "date",
    "密级": "classification",
    "档号": "archival_code",
}
LABELS = {english: f"{english} ({chinese})" for chinese, english in ALIASES.items()}
RETENTION = {
    "永久": "permanent",
    "30年": "30y",
    "10年": "10y",
    "定期30年": "30y",
    "定期10年": "10y",
}
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEWLINE = re.compile(r"[\t\n\r]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
SINGLE_LINE = ("fonds", "year", "retention", "title", "creator", "date", "classification")


class FileDeclaration(BaseModel):
    """What the sender says about one file; declared digests and sizes are checked."""

    model_config = ConfigDict(extra="forbid")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    sha512: str | None = Field(default=None, pattern=r"^[0-9a-f]{128}$")
    size: int | None = Field(default=None, ge=0)


def load_document(raw: bytes | str | None) -> dict[str, Any]:
    """The metadata JSON object, or :class:`InvalidMetadata` saying why there is none."""
    if raw is None:
        raise InvalidMetadata("required field 'metadata' is missing from the form")
    if isinstance(raw, bytes):
        if len(raw) > MAX_METADATA_BYTES:
            raise InvalidMetadata(f"metadata is larger than {MAX_METADATA_BYTES} bytes")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidMetadata("metadata is not UTF-8 text") from None
    doc = parse_json(raw, "metadata", InvalidMetadata)
    if not isinstance(doc, dict):
        raise InvalidMetadata("metadata must be a JSON object")
    return doc


def parse_json(raw: bytes | str, what: str, error: type[InvalidInput] = InvalidInput) -> Any:
    """JSON nested at most :data:`MAX_DEPTH` deep, or ``error`` saying why not (a document
    nested 100,000 deep is refused before the parser recurses into it)."""
    if _depth(raw) > MAX_DEPTH:
        raise error(f"{what} is nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except (ValueError, RecursionError):
        raise error(f"{what} is not valid JSON") from None


def _depth(raw: bytes | str) -> int:
    """The deepest nesting of brackets outside strings, in one linear pass."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = deepest = 0
    for token in _JSON_TOKEN.findall(text):
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def bound_values(doc: Any, cap: int, path: str = "") -> tuple[Any, list[str]]:
    """``doc`` with every string over ``cap`` UTF-8 bytes cut to a short stand-in, and the
    items that were: an oversized value is refused (1-2), never kept, echoed or stored whole."""
    if isinstance(doc, str):
        size = len(doc.encode("utf-8", "surrogatepass"))
        if size <= cap:
            return doc, []
        return f"{doc[:64]}… ({size} bytes, cut)", [f"{LABELS.get(path, path)[:200]}: {size}"]
    over: list[str] = []
    if isinstance(doc, dict):
        out = {}
        for key, value in doc.items():
            key_path = f"{path}.{key}" if path else str(key)
            out[str(key)[:cap]], found = bound_values(value, cap, key_path)
            over += found
        return out, over
    if isinstance(doc, list):
        items = []
        for i, value in enumerate(doc):
            item, found = bound_values(value, cap, f"{path}[{i}]")
            items.append(item)
            over += found
        return items, over
    return doc, []


def normalize(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """English field names and canonical values; also the fields given twice, differently."""
    out: dict[str, Any] = {}
    conflicts = []
    for key, value in doc.items():
        name = ALIASES.get(key, key)
        value = _canonical(name, value)
        if name in out and out[name] != value:
            conflicts.append(f"{LABELS.get(name, name)} is given twice with different values")
        out.setdefault(name, value)
    return out, conflicts


def _canonical(name: str, value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
    if name == "retention" and isinstance(value, str):
        return RETENTION.get(value, value)
    if name == "date" and isinstance(value, str) and (m := _COMPACT_DATE.match(value)):
        return f"{m[1]}-{m[2]}-{m[3]}"
    if name == "year" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def declared_files(doc: dict[str, Any]) -> tuple[dict[str, FileDeclaration], list[str]]:
    """``files.{path}`` declarations, and what is wrong with them."""
    raw = doc.get("files") or {}
    if not isinstance(raw, dict):
        return {}, ["'files' must be an object mapping paths to {sha256, sha512, size}"]
    declared, problems = {}, []
    for path, entry in raw.items():
        try:
            declared[unicodedata.normalize("NFC", path)] = FileDeclaration.model_validate(entry)
        except ValidationError as exc:
            problems += [f"files.{path}: {e['msg']}" for e in exc.errors()]
    return declared, problems


def check_metadata(
    doc: dict[str, Any], conflicts: list[str], profile: IngestProfile, today: dt.date
) -> list[Check]:
    """Checks 1-2 … 1-7, 2-3 and 2-4 of a normalised document (1-8 needs the catalogue)."""
    report = Report()
    for conflict in conflicts:
        report.fail("1-3", conflict)
    _schema_checks(report, doc, profile)
    missing = [LABELS.get(k, k) for k in profile.recommended if _blank(doc.get(k))]
    if missing:
        report.warn("2-3", "DA/T 46 items not given: " + ", ".join(missing))
    _plausibility(report, doc, today)
    _special_characters(report, doc)
    _archival_code(report, doc, profile)
    for code in ("2-3", "2-4", "1-2", "1-3", "1-4", "1-5", "1-6", "1-7"):
        if report.outcome_of(code) is None:
            report.passed(code, _PASSED[code])
    return report.checks


_PASSED = {
    "2-3": "every DA/T 46 item the profile requires or recommends is given",
    "2-4": "no required item is empty",
    "1-2": "every item within its length",
    "1-3": "every item of the right type and format",
    "1-4": "every enumerated item takes an allowed value",
    "1-5": "date not in the future; year agrees with the date",
    "1-6": "no control or special characters",
    "1-7": "archival code follows the profile's pattern",
}


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _schema_checks(report: Report, doc: dict[str, Any], profile: IngestProfile) -> None:
    for error in sorted(profile.validator.iter_errors(doc), key=lambda e: list(e.path)):
        code, detail = _classify(error, doc)
        report.fail(code, detail)


def _classify(error: SchemaViolation, doc: dict[str, Any]) -> tuple[str, str]:
    where = ".".join(str(p) for p in error.absolute_path)
    label = LABELS.get(where, where) or "metadata"
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        names = ", ".join(f"'{LABELS.get(k, k)}'" for k in missing)
        return "2-3", f"required field {names} is missing"
    if error.validator == "minLength" and error.instance == "":
        return "2-4", f"required item '{label}' is empty"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return "1-4", f"'{label}' is {error.instance!r}; allowed: {allowed}"
    if error.validator in ("maxLength", "minLength", "maxItems", "maxProperties"):
        return "1-2", f"'{label}': {error.message}"
    return "1-3", f"'{label}': {error.message}"


def _plausibility(report: Report, doc: dict[str, Any], today: dt.date) -> None:
    date = _as_date(doc.get("date"))
    if date is not None and date > today + dt.timedelta(days=1):
        report.fail("1-5", f"date {date.isoformat()} is in the future")
    year = doc.get("year")
    if date is not None and isinstance(year, str) and year.isdigit() and int(year) != date.year:
        report.fail("1-5", f"year (年度) {year} is not the year of the date {date.isoformat()}")


def _as_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _special_characters(report: Report, doc: dict[str, Any]) -> None:
    for key, text in _strings(doc):
        label = LABELS.get(key, key)
        single = key in SINGLE_LINE or key == "archival_code"
        if _CONTROL.search(text) or (single and _NEWLINE.search(text)):
            report.fail("1-6", f"'{label}' contains a control character")
        if "\ufffd" in text:
            report.fail("1-6", f"'{label}' contains U+FFFD: the text was decoded wrongly")
        if _BIDI.search(text):
            report.fail("1-6", f"'{label}' contains a bidirectional override character")
        if _INVISIBLE.search(text):
            report.warn("1-6", f"'{label}' contains an invisible (zero-width) character")


def _strings(doc: Any, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if prefix == "" and key == "files":
                continue
            found += _strings(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += _strings(value, f"{prefix}[{i}]")
    elif isinstance(doc, str):
        found.append((prefix, doc))
    return found


def _archival_code(report: Report, doc: dict[str, Any], profile: IngestProfile) -> None:
    code = doc.get("archival_code")
    if not isinstance(code, str) or not code:
        return
    if not profile.archival_code_pattern.fullmatch(code):
        report.fail(
            "1-7",
            f"archival code {code!r} does not match {profile.archival_code_pattern.pattern}",
        )
        return
    fonds, year = doc.get("fonds"), doc.get("year")
    if isinstance(fonds, str) and fonds and not code.startswith(fonds):
        report.warn("1-7", f"archival code {code!r} does not begin with the fonds {fonds!r}")
    if isinstance(year, str) and year and year not in code:
        report.warn("1-7", f"archival code {code!r} does not contain the year {year}")
