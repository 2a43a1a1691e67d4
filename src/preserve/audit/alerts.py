"""Critical alerts: to the log at once, to a webhook (JSON POST) after commit, to /metrics.

The webhook is the operator's own endpoint (a chat bridge, an incident system), so the body
names the AIP and target. Delivery is tried once when the alert is raised and again by the
scheduler until it succeeds or the alert is a day old; the outcome is kept on the alert row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from preserve.catalog.models import Alert
from preserve.catalog.types import utcnow
from preserve.runtime import Runtime

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


def deliver(rt: Runtime, alert_id: int) -> bool:
    """POST one alert to the webhook; True when it was accepted (any 2xx)."""
    url = rt.settings.alert_webhook_url
    if not url:
        return False
    with rt.sessions.begin() as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.delivered_at is not None:
            return alert is not None
        body = payload(alert)
    error = _post(url, body)
    with rt.sessions.begin() as session:
        alert = session.get(Alert, alert_id)
        if alert is not None:
            alert.delivered_at = utcnow() if error is None else None
            alert.delivery_error = error
    if error is not None:
        log.error("alert %s not delivered to the webhook: %s", alert_id, error)
    return error is None


def _post(url: str, body: dict[str, Any]) -> str | None:
    try:
        response = httpx.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if not response.is_success:
        return f"HTTP {response.status_code}"
    return None


def redeliver(rt: Runtime, now: datetime | None = None) -> int:
    """Retry undelivered alerts of the last day (the scheduler calls this)."""
    if not rt.settings.alert_webhook_url:
        return 0
    since = (now or utcnow()) - REDELIVER_FOR
    with rt.sessions.begin() as session:
        ids = list(
            session.scalars(
                select(Alert.id).where(Alert.delivered_at.is_(None), Alert.created_at >= since)
            )
        )
    return sum(deliver(rt, alert_id) for alert_id in ids)
