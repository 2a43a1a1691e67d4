"""The worker's stage of the four-property report: 3-3 formats, 3-8 encryption, 4-2 viruses."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from preserve.ingest import clamd
from preserve.ingest.checks import Check, Report, Result
from preserve.ingest.inspect import Inspection
from preserve.ingest.profile import IngestProfile

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
