"""Store health the scheduler watches: vanished targets (issue 11, item 1).

Every ``store_health_seconds`` the targets of every profile in use are looked at (one
directory test or listing each, nothing read): a target that held proven replicas and now
shows no AIP has its replicas failed, the states of the AIPs settled again (PRESERVED ->
AT_RISK where the policy no longer holds) and a critical ``store-vanished`` alert raised, once.
``preserve storage check`` does the same when it finds one.
"""

from __future__ import annotations

from datetime import datetime

from preserve.audit import alerts
from preserve.errors import ConfigurationError
from preserve.jobs.scheduler import periodic
from preserve.jobs.tasks.audit import deliver_alert
from preserve.runtime import Runtime
from preserve.storage.health import VANISHED_ALERT, count_lost, vanished_targets
from preserve.storage.repository import profiles_in_use, proven_counts


@periodic("storage.health", every=lambda settings: settings.store_health_seconds)
def watch_stores(rt: Runtime, now: datetime) -> None:
    record_vanished(rt, find_vanished(rt))


def find_vanished(rt: Runtime, refs: list[str] | None = None) -> dict[str, str]:
    """Target -> problem for every vanished target of the given (default: in use) profiles."""
    with rt.sessions.begin() as session:
        held = proven_counts(session)
        if refs is None:
            refs = sorted({rt.settings.storage_profile} | profiles_in_use(session))
    found: dict[str, str] = {}
    for ref in refs:
        try:
            profile = rt.profile(ref)
        except ConfigurationError:
            continue
        found.update(vanished_targets(profile, lambda name, r=ref: rt.store(r, name), held))
    return found


def record_vanished(rt: Runtime, found: dict[str, str]) -> list[int]:
    """Fail the replicas on each vanished target and raise one alert per target whose
    replicas were still counted; the alerts' ids (delivered to the webhook once committed)."""
    raised = []
    for target, problem in sorted(found.items()):
        with rt.sessions.begin() as session:
            lost = count_lost(session, rt.stores, target, problem)
            if lost:
                alert = alerts.raise_alert(
                    session,
                    alerts.CRITICAL,
                    VANISHED_ALERT,
                    f"{problem}; {len(lost)} replicas no longer counted as verified",
                    target=target,
                )
                raised.append(alert.id)
    for alert_id in raised:
        deliver_alert(rt, alert_id)
    return raised
