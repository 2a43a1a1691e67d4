"""The worker's stage of the four-property report: 3-3 formats, 3-4 format validation,
3-8 encryption, 4-2 viruses."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from preserve.ingest import clamd
from preserve.ingest.checks import Check, Report, Result
from preserve.ingest.inspect import Inspection
from preserve.ingest.profile import IngestProfile
from preserve.ingest.validation import Validation

SHOWN = 20  # files named in one detail; the rest are counted


def _names(paths: list[str]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def format_checks(inspections: Iterable[Inspection], profile: IngestProfile) -> list[Check]:
    report = Report()
    inspections = list(inspections)
    by_outcome: dict[Result, list[str]] = {Result.FAIL: [], Result.WARN: []}
    encrypted = []
    for item in inspections:
        ident = item.identification
        outcome, why = profile.format_policy.judge(ident.puid)
        if outcome != Result.PASS:
            by_outcome[outcome].append(f"{ident.path} ({why})")
        if item.encryption:
            encrypted.append(f"{ident.path}: {item.encryption}")
    registry = inspections[0].identification.registry if inspections else "PRONOM"
    for outcome, lines in by_outcome.items():
        if lines:
            report.add("3-3", outcome, f"{len(lines)} files: {_names(lines)}")
    if report.outcome_of("3-3") is None:
        report.passed(
            "3-3",
            f"{len(inspections)} files identified with {registry}, all allowed by the policy "
            f"of profile {profile.name!r}",
        )
    disagreed = [
        f"{i.identification.path} ({i.identification.disagreement})"
        for i in inspections
        if i.identification.disagreement
    ]
    if disagreed:
        report.warn(
            "3-3",
            f"siegfried and fido disagree on {len(disagreed)} files: {_names(disagreed)}",
        )
    for line in encrypted:
        report.fail("3-8", line)
    if not encrypted:
        report.passed("3-8", "no encrypted or password-protected content found")
    return report.checks


def virus_checks(items: list[tuple[Path, str]], profile: IngestProfile) -> list[Check]:
    report = Report()
    if not profile.clamd:
        outcome = Result.FAIL if profile.virus_check_required else Result.WARN
        report.add("4-2", outcome, "no virus scanner (clamd) is configured: not scanned")
        return report.checks
    result = clamd.scan(profile.clamd, items)
    for path, signature in sorted(result.infected.items()):
        report.fail("4-2", f"{path}: {signature} found by {result.engine}")
    skipped = [f"{p} ({why})" for p, why in sorted(result.not_scanned.items())]
    if skipped:
        outcome = Result.FAIL if profile.virus_check_required else Result.WARN
        report.add("4-2", outcome, f"not scanned: {_names(skipped)}")
    if not result.infected and not skipped:
        report.passed("4-2", f"{len(items)} files scanned clean by {result.engine}")
    return report.checks


def validation_checks(validations: list[Validation], profile: IngestProfile) -> list[Check]:
    """Check 3-4: a ``fail`` of each file whose failure the profile says rejects (named one by
    one, with where and the tool), the rest as warnings, and a count of the files that open."""
    report = Report()
    rejecting, tolerated, unchecked = [], [], []
    for v in validations:
        line = f"{v.path}: {v.detail}" + (f" (at {v.where})" if v.where else "")
        if v.outcome == Result.WARN:
            unchecked.append(line)
        elif v.outcome == Result.FAIL:
            policy = profile.validation.disposition(v.puid, v.family)
            (rejecting if policy == Result.FAIL else tolerated).append(f"{line} [{v.tool}]")
    for line in rejecting[:SHOWN]:
        report.fail("3-4", line)
    if len(rejecting) > SHOWN:
        report.fail("3-4", f"{len(rejecting) - SHOWN} more files do not open")
    if tolerated:
        report.warn(
            "3-4",
            f"{len(tolerated)} files do not open (the profile only warns): " + _names(tolerated),
        )
    if unchecked:
        report.warn("3-4", f"{len(unchecked)} files not fully checked: {_names(unchecked)}")
    opened = [v for v in validations if v.outcome == Result.PASS]
    if opened or not validations:
        families = sorted({v.family or "" for v in opened})
        counts = ", ".join(f"{f} {sum(v.family == f for v in opened)}" for f in families)
        report.passed("3-4", f"{len(opened)} of {len(validations)} files open ({counts})")
    return report.checks
