"""The fixity report a preservation officer reads and hands to an auditor.

For a period: per target the holdings (objects, files, bytes), the replicas audited in the
period, the checks by outcome, coverage (the share of replicas checked within one audit
interval before the end of the period; on a cold target also against the sample share),
repairs, overdue replicas; every failure with its resolution; and checks and failures per day.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from preserve.audit import queries
from preserve.audit.auditor import AuditOutcome
from preserve.audit.targets import TargetPolicy
from preserve.catalog.models import FixityCheck

DEFAULT_GRACE = timedelta(hours=24)
CURRENT = timedelta(minutes=5)  # a period ending this close to now is reported as of now


@dataclass
class TargetSummary:
    target: str
    mode: str = "full"
    interval_days: int = 90
    sample_share: float = 1.0
    objects: int = 0
    files: int = 0
    bytes: int = 0
    verified: int = 0
    audited_in_period: int = 0
    checks: int = 0
    bytes_read: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in AuditOutcome})
    failed: int = 0
    repairs: int = 0
    coverage: float = 0.0
    sample_coverage: float | None = None
    overdue: int = 0
    never_audited: int = 0

    @property
    def ok(self) -> int:
        return self.outcomes.get(AuditOutcome.OK.value, 0)


@dataclass
class FailureEntry:
    aip_id: str
    target: str | None
    time: str
    outcome: str
    detail: str
    resolution: str | None
    resolved_at: str | None
    repair_source: str | None

    @classmethod
    def of(cls, check: FixityCheck) -> FailureEntry:
        return cls(
            check.aip_id,
            check.target,
            check.checked_at.isoformat(),
            check.outcome,
            check.detail,
            check.resolution,
            check.resolved_at.isoformat() if check.resolved_at else None,
            check.repair_source,
        )


@dataclass
class DayCount:
    day: str
    checks: int
    failures: int


@dataclass
class FixityReport:
    generated_at: str
    period_from: str | None
    period_to: str | None
    aips: int
    target_filter: str | None = None
    aips_at_risk: int = 0  # AT_RISK now: the policy does not hold over verified replicas
    targets: list[TargetSummary] = field(default_factory=list)
    failures: list[FailureEntry] = field(default_factory=list)
    daily: list[DayCount] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def fixity_report(
    session: Session,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    *,
    target: str | None = None,
    policies: dict[str, TargetPolicy] | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> FixityReport:
    until = until or now
    report = FixityReport(
        generated_at=now.isoformat(),
        period_from=since.isoformat() if since else None,
        period_to=until.isoformat(),
        aips=queries.aip_count(session),
        target_filter=target,
        aips_at_risk=queries.aips_at_risk(session),
    )
    summaries = _summaries(session, since, until, now, target, policies or {}, grace)
    report.targets = sorted(summaries.values(), key=lambda t: t.target)
    report.failures = [FailureEntry.of(c) for c in queries.failures(session, since, until, target)]
    report.daily = _daily(session, since, until, target)
    return report


def _summaries(session, since, until, now, target, policies, grace) -> dict[str, TargetSummary]:
    as_of = min(until, now)
    found: dict[str, TargetSummary] = {}

    def summary(name: str) -> TargetSummary:
        if name not in found:
            policy = policies.get(name) or TargetPolicy(name)
            found[name] = TargetSummary(
                name, policy.mode, policy.interval_days, policy.sample_share
            )
        return found[name]

    current = as_of >= now - CURRENT
    covered_since = {name: as_of - policy.interval for name, policy in policies.items()}
    default = as_of - TargetPolicy("?").interval if current else None
    held = queries.holdings(session, target, covered_since, default)
    for name, h in held.items():
        s = summary(name)
        s.objects, s.files, s.bytes, s.verified = h.objects, h.files, h.bytes, h.verified
        s.never_audited = h.never_audited
        s.coverage = round(h.covered / h.objects, 4) if current and h.objects else 0.0
    for name, by_outcome in queries.outcomes(session, since, until, target).items():
        s = summary(name)
        for outcome, (n, b) in by_outcome.items():
            s.outcomes[outcome] = s.outcomes.get(outcome, 0) + n
            s.checks += n
            s.bytes_read += b
        s.failed = s.checks - s.ok
    for name, n in queries.audited(session, since, until, target).items():
        summary(name).audited_in_period = n
    for name, n in queries.repairs(session, since, until, target).items():
        summary(name).repairs = n
    for name, n in queries.overdue(session, as_of - grace, target).items():
        summary(name).overdue = n
    for s in found.values():
        _coverage(session, s, as_of, current)
    return found


def _coverage(session: Session, s: TargetSummary, as_of: datetime, current: bool) -> None:
    """Replicas checked within one interval before ``as_of``: from each replica's last check
    when the period ends now (one pass over the replicas), from the check history otherwise."""
    if not s.objects:
        return
    if not current:
        checked = queries.covered(session, s.target, timedelta(days=s.interval_days), as_of)
        s.coverage = round(checked / s.objects, 4)
    checked = round(s.coverage * s.objects)
    if s.mode == "sample":
        s.sample_coverage = round(min(1.0, checked / (s.objects * s.sample_share)), 4)


def _daily(session, since, until, target) -> list[DayCount]:
    last = until.date()
    first = since.date() if since else None
    if first is None:
        earliest = queries.first_check_at(session)
        first = earliest.date() if earliest else last
    if (last - first).days > 3660:
        first = last - timedelta(days=3660)
    counts = queries.daily(session, first, last, target)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [DayCount(d.isoformat(), *counts.get(d, (0, 0))) for d in days]


TARGET_COLUMNS = [
    "target",
    "mode",
    "interval_days",
    "objects",
    "files",
    "bytes",
    "audited_in_period",
    "checks",
    "bytes_read",
    *(o.value for o in AuditOutcome),
    "repairs",
    "coverage",
    "sample_coverage",
    "overdue",
]
FAILURE_COLUMNS = [
    "time",
    "target",
    "aip_id",
    "outcome",
    "resolution",
    "resolved_at",
    "repair_source",
    "detail",
]


def to_csv(report: FixityReport) -> str:
    """Two tables, the targets then the failures, separated by an empty line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TARGET_COLUMNS)
    for t in report.targets:
        flat = {**asdict(t), **t.outcomes}
        writer.writerow(["" if flat[c] is None else flat[c] for c in TARGET_COLUMNS])
    writer.writerow([])
    writer.writerow(FAILURE_COLUMNS)
    for f in report.failures:
        row = asdict(f)
        writer.writerow(["" if row[c] is None else row[c] for c in FAILURE_COLUMNS])
    return out.getvalue()
