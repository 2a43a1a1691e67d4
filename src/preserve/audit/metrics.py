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


def render(session: Session, now: datetime, grace: timedelta) -> str:
    w = _Writer()
    totals = queries.totals(session)
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
        (
            ({"target": t, "outcome": o}, n)
            for (t, o), n in sorted(queries.failure_counts(session).items())
        ),
    )
    w.family(
        "preserve_fixity_repairs_total",
        "counter",
        "Replicas repaired from a verified replica.",
        (({"target": t}, r) for t, (_c, _b, r) in sorted(totals.items())),
    )
    _gauges(w, session, now, grace)
    return w.text()


def _gauges(w: _Writer, session: Session, now: datetime, grace: timedelta) -> None:
    w.family(
        "preserve_fixity_failures_open",
        "gauge",
        "Failed checks not yet repaired or resolved.",
        (({"target": t}, n) for t, n in sorted(queries.open_failure_counts(session).items())),
    )
    w.family(
        "preserve_replicas",
        "gauge",
        "Replicas by target and state.",
        (({"target": t, "state": s}, n) for t, s, n in queries.replica_states(session)),
    )
    w.family(
        "preserve_replicas_overdue",
        "gauge",
        "Replicas past their audit due time by more than the grace period.",
        (({"target": t}, n) for t, n in sorted(queries.overdue(session, now - grace).items())),
    )
    w.family(
        "preserve_replicas_audit_due",
        "gauge",
        "Replicas the scheduler should audit now.",
        (({"target": t}, n) for t, n in sorted(queries.due_now(session, now).items())),
    )
    w.family(
        "preserve_alerts_total",
        "counter",
        "Alerts raised, by severity.",
        (({"severity": s}, n) for s, n in queries.alert_counts(session)),
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
