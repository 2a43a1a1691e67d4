"""Prometheus text exposition of the archive's health: counts only.

Labels are target names, outcomes, states and alert severities — configuration and enums,
never a record's name or id. Everything is read from the database, so the figures are the
same whichever process serves the scrape and survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from preserve.audit import queries
from preserve.audit.alerts import CRITICAL, WARNING
from preserve.audit.auditor import AuditOutcome
from preserve.catalog.models import ReplicaState
from preserve.storage.space import Space

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_: str, samples: Iterable[tuple[dict[str, str], float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


FAILURES = [o.value for o in AuditOutcome if o is not AuditOutcome.OK]
STATES = [s.value for s in ReplicaState]


def _per_target(found: dict[str, int], targets: Iterable[str]) -> list[tuple[dict, int]]:
    """Every configured target, at 0 when nothing happened on it yet: ``increase()`` needs the
    series to exist before the first event to see that event."""
    return [({"target": t}, found.get(t, 0)) for t in sorted(set(found) | set(targets))]


def render(session: Session, now: datetime, grace: timedelta, targets: Iterable[str] = ()) -> str:
    """``targets``: the configured targets, each given a zero series for every outcome and
    state (the catalogue alone names only the targets and outcomes seen so far)."""
    targets = set(targets)
    w = _Writer()
    totals = queries.totals(session)
    for t in targets - set(totals):
        totals[t] = (0, 0, 0)
    failures = queries.failure_counts(session)
    for key in ((t, o) for t in {t for t, _ in failures} | targets for o in FAILURES):
        failures.setdefault(key, 0)
    w.family(
        "preserve_fixity_checks_total",
        "counter",
        "Fixity checks of replicas, by target.",
        (({"target": t}, c) for t, (c, _b, _r) in sorted(totals.items())),
    )
    w.family(
        "preserve_fixity_bytes_read_total",
        "counter",
        "Bytes read back from the stores by fixity checks.",
        (({"target": t}, b) for t, (_c, b, _r) in sorted(totals.items())),
    )
    w.family(
        "preserve_fixity_failures_total",
        "counter",
        "Failed fixity checks, by target and outcome.",
        (({"target": t, "outcome": o}, n) for (t, o), n in sorted(failures.items())),
    )
    w.family(
        "preserve_fixity_repairs_total",
        "counter",
        "Replicas repaired from a verified replica.",
        (({"target": t}, r) for t, (_c, _b, r) in sorted(totals.items())),
    )
    _gauges(w, session, now, grace, targets)
    return w.text()


def _gauges(
    w: _Writer, session: Session, now: datetime, grace: timedelta, targets: set[str]
) -> None:
    w.family(
        "preserve_fixity_failures_open",
        "gauge",
        "Failed checks not yet repaired or resolved.",
        _per_target(queries.open_failure_counts(session), targets),
    )
    w.family(
        "preserve_replicas",
        "gauge",
        "Replicas by target and state.",
        _replica_states(session, targets),
    )
    w.family(
        "preserve_replicas_overdue",
        "gauge",
        "Replicas past their audit due time by more than the grace period.",
        _per_target(queries.overdue(session, now - grace), targets),
    )
    w.family(
        "preserve_replicas_audit_due",
        "gauge",
        "Replicas the scheduler should audit now.",
        _per_target(queries.due_now(session, now), targets),
    )
    w.family(
        "preserve_alerts_total",
        "counter",
        "Alerts raised, by severity.",
        (({"severity": s}, n) for s, n in sorted(_alerts(session).items())),
    )
    w.family(
        "preserve_store_vanished_total",
        "counter",
        "Times a target that held proven replicas was found without any AIP (alerts raised).",
        _per_target(queries.alerts_per_target(session, "store-vanished"), targets),
    )
    w.family(
        "preserve_aips_at_risk",
        "gauge",
        "AIPs no longer PRESERVED: their policy does not hold over verified replicas.",
        [({}, queries.aips_at_risk(session))],
    )
    w.family(
        "preserve_replication_backlog",
        "gauge",
        "Replication jobs queued or running.",
        [({}, queries.replication_backlog(session))],
    )
    w.family(
        "preserve_replicas_pending",
        "gauge",
        "Replicas not yet written and verified.",
        [({}, queries.pending_replicas(session))],
    )
    w.family(
        "preserve_dashboard_snapshot_age_seconds",
        "gauge",
        "Seconds since the dashboard's counts were last taken (no sample before the first).",
        _snapshot_age(session, now),
    )


def _snapshot_age(session: Session, now: datetime) -> list[tuple[dict, float]]:
    taken = queries.snapshot_time(session)
    return [] if taken is None else [({}, round(max(0.0, (now - taken).total_seconds()), 3))]


def _replica_states(session: Session, targets: set[str]) -> list[tuple[dict, int]]:
    found = {(t, s): n for t, s, n in queries.replica_states(session)}
    for key in ((t, s) for t in {t for t, _ in found} | targets for s in STATES):
        found.setdefault(key, 0)
    return [({"target": t, "state": s}, n) for (t, s), n in sorted(found.items())]


def _alerts(session: Session) -> dict[str, int]:
    return {CRITICAL: 0, WARNING: 0, **dict(queries.alert_counts(session))}


def render_space(spaces: Iterable[Space]) -> str:
    """Free space per filesystem (the data directory, each filesystem target)."""
    spaces = list(spaces)
    w = _Writer()
    w.family(
        "preserve_free_bytes",
        "gauge",
        "Free bytes on the filesystem of the data directory and of each filesystem target.",
        (({"filesystem": s.name}, s.free) for s in spaces),
    )
    w.family(
        "preserve_free_space_low",
        "gauge",
        "1 where free space is below the warning threshold (free_space_warn_bytes).",
        (({"filesystem": s.name}, int(s.low)) for s in spaces),
    )
    return w.text()
