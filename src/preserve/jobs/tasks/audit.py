"""Jobs and periodic work the audit package owns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from preserve.audit import alerts
from preserve.audit.schedule import plan_all
from preserve.audit.service import request_restore, run_scheduled_audit
from preserve.audit.targets import target_policies
from preserve.jobs.registry import task
from preserve.jobs.scheduler import periodic
from preserve.runtime import Runtime


@task("audit.replica")
def audit_replica_job(rt: Runtime, payload: dict[str, Any]) -> None:
    run_scheduled_audit(rt, payload["aip_id"], payload["target"])


@task("audit.restore")
def restore_job(rt: Runtime, payload: dict[str, Any]) -> None:
    request_restore(rt, payload["aip_id"], payload["target"])


@periodic("audit.plan", every=lambda settings: settings.audit_tick_seconds)
def plan_audits(rt: Runtime, now: datetime) -> None:
    with rt.sessions.begin() as session:
        horizon = timedelta(seconds=rt.settings.audit_tick_seconds)
        plan_all(session, target_policies(rt, session), now, horizon)


@periodic("audit.alerts", every=300)
def redeliver_alerts(rt: Runtime, now: datetime) -> None:
    alerts.redeliver(rt, now)
