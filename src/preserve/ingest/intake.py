"""The checks made on an upload before it is acknowledged (the first stage of the report).

Everything here needs only the received bytes, their digests and one catalogue query, so it
runs in the request: a failure answers problem+json at once, listing every failed check.
Format identification, encryption and virus checks follow in the worker (service.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from preserve.errors import NoFiles
from preserve.ingest import repository
from preserve.ingest.bagin import ReceivedBag
from preserve.ingest.checks import Check, Report, Result
from preserve.ingest.metadata import (
    ALIASES,
    InvalidMetadata,
    bound_values,
    check_metadata,
    declared_files,
    load_document,
    normalize,
)
from preserve.ingest.profile import IngestProfile
from preserve.ingest.staging import StagedFile

# bag-info.txt labels that carry record metadata (BagIt style, or the Chinese item names)
BAG_INFO_LABELS = {
    "title": "title",
    "creator": "creator",
    "date": "date",
    "retention": "retention",
    "archival-code": "archival_code",
    "fonds": "fonds",
    "year": "year",
    "classification": "classification",
    **{chinese: english for chinese, english in ALIASES.items()},
}


@dataclass
class Intake:
    metadata: dict[str, Any]  # normalised (English names, canonical values)
    submitted: dict[str, Any]  # as sent (the metadata field, or bag-info.txt)
    report: Report
    fingerprint: str


def metadata_from_bag_info(info: dict[str, list[str]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for label, values in info.items():
        name = BAG_INFO_LABELS.get(label.strip().lower(), BAG_INFO_LABELS.get(label.strip()))
        if name and values:
            doc.setdefault(name, values[0])
    return doc


def check_intake(
    session: Session,
    profile: IngestProfile,
    *,
    agency_id: int,
    metadata_raw: bytes | None,
    files: list[StagedFile],
    bag: ReceivedBag | None = None,
    content_digest: Check | None = None,
    today: dt.date | None = None,
    max_value_bytes: int = 256 * 1024,
) -> Intake:
    report = Report()
    if bag is not None:
        report.extend(bag.report.checks)
    elif not files:
        raise NoFiles("the SIP has no 'files' field; send at least one file")
    submitted, too_long = bound_values(_submitted(metadata_raw, bag, report), max_value_bytes)
    for item in too_long:
        report.fail("1-2", f"'{item}' bytes; a metadata value may hold {max_value_bytes}")
    metadata, conflicts = normalize(submitted)
    if submitted or metadata_raw is not None or bag is not None:
        report.extend(check_metadata(metadata, conflicts, profile, today or dt.date.today()))
    _declared(report, submitted, files, bag)
    _package_digest(report, bag, content_digest)
    _duplicate(session, report, metadata, profile, agency_id)
    return Intake(metadata, submitted, report, fingerprint(submitted, files, bag))


def _submitted(metadata_raw: bytes | None, bag: ReceivedBag | None, report: Report) -> dict:
    if metadata_raw is None and bag is not None:
        return metadata_from_bag_info(bag.info)
    try:
        return load_document(metadata_raw)
    except InvalidMetadata as exc:
        report.fail("2-3" if metadata_raw is None else "1-3", exc.detail)
        return {}


def _declared(
    report: Report, doc: dict[str, Any], files: list[StagedFile], bag: ReceivedBag | None
) -> None:
    """2-1, 2-2, 2-7 against ``files.{path}`` in the metadata (a bag's come from its own
    manifests and Payload-Oxum; declarations given beside a bag are checked as well)."""
    declared, problems = declared_files(doc)
    for problem in problems:
        report.fail("1-3", problem)
    received = {f.path: f for f in files}
    if bag is None:
        _counts(report, declared, received)
    mismatches = []
    for path, decl in sorted(declared.items()):
        staged = received.get(path)
        if staged is None:
            continue
        for alg in ("sha256", "sha512"):
            want = getattr(decl, alg)
            if want and want != getattr(staged, alg):
                mismatches.append(f"{path}: {alg} {want} declared, {getattr(staged, alg)} received")
    for line in mismatches:
        report.fail("2-7", f"declared digest does not match: {line}")
    if bag is None and not mismatches:
        with_digest = sum(1 for d in declared.values() if d.sha256 or d.sha512)
        if with_digest:
            report.passed("2-7", f"{with_digest} sender digests match the received bytes")
        else:
            report.warn("2-7", "no sender digests; sha256 and sha512 computed on receipt")


def _counts(report: Report, declared: dict, received: dict[str, StagedFile]) -> None:
    if not declared:
        report.warn("2-1", f"no files declared in the metadata; {len(received)} received")
        report.warn(
            "2-2", f"no sizes declared; {sum(f.size for f in received.values())} bytes received"
        )
        return
    missing = sorted(set(declared) - set(received))
    extra = sorted(set(received) - set(declared))
    for path in missing:
        report.fail("2-1", f"{path}: declared in metadata but not received")
    for path in extra:
        report.fail("2-1", f"{path}: received but not declared in metadata")
    if not missing and not extra:
        report.passed("2-1", f"{len(received)} files declared and received")
    sizes = {p: d.size for p, d in declared.items() if d.size is not None}
    wrong = [
        f"{p}: {s} bytes declared, {received[p].size} received"
        for p, s in sorted(sizes.items())
        if p in received and received[p].size != s
    ]
    for line in wrong:
        report.fail("2-2", line)
    if not wrong:
        total = sum(f.size for f in received.values())
        if sizes:
            report.passed("2-2", f"{len(sizes)} declared sizes match; {total} bytes received")
        else:
            report.warn("2-2", f"no sizes declared; {total} bytes received")


def _package_digest(report: Report, bag: ReceivedBag | None, content_digest: Check | None):
    if content_digest is not None:
        report.extend([content_digest])
    elif bag is None:
        report.warn("1-12", "no Content-Digest header: the body's digest was not declared")


def _duplicate(
    session: Session, report: Report, metadata: dict, profile: IngestProfile, agency_id: int
) -> None:
    """1-8 over the submitter's own holdings only: another agency's codes are not its
    business, and naming them would let any submitter probe the whole archive."""
    code = metadata.get("archival_code")
    if not isinstance(code, str) or not code:
        return
    held = repository.aip_with_archival_code(session, agency_id, code)
    if held is None:
        report.passed("1-8", f"archival code {code!r} is not yet held for this agency")
    elif profile.duplicate_archival_code == Result.FAIL:
        report.fail("1-8", f"archival code {code!r} is already held for this agency as AIP {held}")
    else:
        report.warn("1-8", f"archival code {code!r} is already held for this agency as AIP {held}")


def _tags(bag: ReceivedBag | None) -> dict[str, bytes]:
    return bag.tag_files if bag is not None else {}


def fingerprint(submitted: dict, files: list[StagedFile], bag: ReceivedBag | None) -> str:
    """What an Idempotency-Key stands for: the metadata as sent and every file's path, size
    and sha256 (not the multipart boundary or the archive's byte layout)."""
    doc = {
        "metadata": submitted,
        "files": sorted([f.path, f.size, f.sha256] for f in files),
        "bag_tags": sorted(hashlib.sha256(v).hexdigest() for v in _tags(bag).values()),
    }
    canonical = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
