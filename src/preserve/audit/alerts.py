"""Critical alerts: to the log at once, to a webhook (JSON POST) after commit, to /metrics.

The webhook is the operator's own endpoint (a chat bridge, an incident system), so the body
names the AIP and target. Delivery is tried once when the alert is raised and again by the
scheduler until it succeeds or the alert is a day old; the outcome is kept on the alert row.
Delivery is three steps the edge drives (:func:`preserve.jobs.tasks.audit.deliver_alert`): read
the body (:func:`outgoing`), POST it outside any transaction (:func:`post`), keep the outcome
(:func:`record_delivery`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session

from preserve.audit import repository
from preserve.catalog.models import Alert
from preserve.catalog.types import utcnow

log = logging.getLogger("preserve.alerts")

CRITICAL = "critical"
WARNING = "warning"
REDELIVER_FOR = timedelta(days=1)
TIMEOUT_SECONDS = 10.0


def raise_alert(
    session: Session,
    severity: str,
    kind: str,
    detail: str,
    *,
    aip_id: str | None = None,
    target: str | None = None,
) -> Alert:
    alert = Alert(severity=severity, kind=kind, detail=detail, aip_id=aip_id, target=target)
    session.add(alert)
    session.flush()
    level = logging.CRITICAL if severity == CRITICAL else logging.WARNING
    log.log(level, "ALERT %s %s aip=%s target=%s: %s", severity, kind, aip_id, target, detail)
    return alert


def recently_alerted(
    session: Session, kind: str, target: str, now: datetime, within: timedelta = REDELIVER_FOR
) -> bool:
    """Whether an alert of ``kind`` about ``target`` was raised in the last ``within``."""
    return repository.alert_since(session, kind, target, now - within)


def payload(alert: Alert) -> dict[str, Any]:
    return {
        "source": "preserve",
        "id": alert.id,
        "severity": alert.severity,
        "kind": alert.kind,
        "aip_id": alert.aip_id,
        "target": alert.target,
        "detail": alert.detail,
        "time": alert.created_at.isoformat(),
    }


def outgoing(session: Session, alert_id: int) -> dict[str, Any] | None:
    """The webhook body of an alert not delivered yet; None when there is nothing to send."""
    alert = session.get(Alert, alert_id)
    if alert is None or alert.delivered_at is not None:
        return None
    return payload(alert)


def post(url: str, body: dict[str, Any]) -> str | None:
    """POST one alert to the webhook (no transaction is open meanwhile): the error, or None
    when it was accepted (any 2xx)."""
    error = _post(url, body)
    if error is not None:
        log.error("alert %s not delivered to the webhook: %s", body.get("id"), error)
    return error


def record_delivery(session: Session, alert_id: int, error: str | None) -> None:
    alert = session.get(Alert, alert_id)
    if alert is not None:
        alert.delivered_at = utcnow() if error is None else None
        alert.delivery_error = error


def to_redeliver(session: Session, now: datetime | None = None) -> list[int]:
    """Undelivered alerts of the last day (the scheduler retries them)."""
    return repository.undelivered_alerts(session, (now or utcnow()) - REDELIVER_FOR)


def _post(url: str, body: dict[str, Any]) -> str | None:
    try:
        response = httpx.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if not response.is_success:
        return f"HTTP {response.status_code}"
    return None
