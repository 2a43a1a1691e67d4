"""Store health the scheduler watches: vanished targets (issue 11, item 1).

Every ``store_health_seconds`` the free space of the data directory and of every filesystem
target is measured (a ``low-free-space`` warning alert below ``free_space_warn_bytes``, once a
day per filesystem: issue 11, item 7), and the targets of every profile in use are looked at (one
directory test or listing each, nothing read): a target that held proven replicas and now
shows no AIP has its replicas failed, the states of the AIPs settled again (PRESERVED ->
AT_RISK where the policy no longer holds) and a critical ``store-vanished`` alert raised, once.
``preserve storage check`` does the same when it finds one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from preserve.audit import alerts
from preserve.audit.alerts import recently_alerted
from preserve.errors import ConfigurationError, PreserveError
from preserve.ingest import sweep as staging_sweep
from preserve.jobs.scheduler import periodic
from preserve.jobs.tasks.audit import deliver_alert
from preserve.runtime import Runtime
from preserve.storage import debris
from preserve.storage.health import VANISHED_ALERT, count_lost, vanished_targets
from preserve.storage.profiles import StorageProfile
from preserve.storage.repository import profiles_in_use, proven_counts
from preserve.storage.space import Space, space_report

LOW_SPACE_ALERT = "low-free-space"
log = logging.getLogger(__name__)


@periodic("storage.health", every=lambda settings: settings.store_health_seconds)
def watch_stores(rt: Runtime, now: datetime) -> None:
    record_vanished(rt, find_vanished(rt))
    warn_low_space(rt, now)


def loaded_profiles(rt: Runtime, session: Session) -> list[StorageProfile]:
    """The default profile and every profile an AIP or agency uses, as far as they load."""
    found = []
    for ref in sorted({rt.settings.storage_profile} | profiles_in_use(session)):
        try:
            found.append(rt.profile(ref))
        except ConfigurationError:
            continue
    return found


def free_space(rt: Runtime, session: Session) -> list[Space]:
    """Free space of the data directory and of every filesystem target in use."""
    profiles = loaded_profiles(rt, session)
    return space_report(profiles, rt.settings.resolved_data_dir, rt.settings.free_space_warn_bytes)


def warn_low_space(rt: Runtime, now: datetime) -> list[int]:
    """A ``low-free-space`` warning alert per filesystem below the threshold, at most one per
    name a day (the condition lasts; the alert says it once)."""
    raised = []
    with rt.sessions.begin() as session:
        for space in free_space(rt, session):
            if not space.low or recently_alerted(session, LOW_SPACE_ALERT, space.name, now):
                continue
            alert = alerts.raise_alert(
                session, alerts.WARNING, LOW_SPACE_ALERT, space.warning, target=space.name
            )
            raised.append(alert.id)
    for alert_id in raised:
        deliver_alert(rt, alert_id)
    return raised


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


@dataclass
class Swept:
    temporary: dict[str, list[str]] = field(default_factory=dict)  # target -> paths
    staging: list[str] = field(default_factory=list)  # SIP ids without a row
    bytes: int = 0


@periodic("storage.debris", every=3600)
def sweep_periodically(rt: Runtime, now: datetime) -> None:
    sweep_debris(rt)


def sweep_debris(
    rt: Runtime,
    targets: list[str] | None = None,
    *,
    dry_run: bool = False,
    older_than: timedelta | None = None,
) -> Swept:
    """Remove what killed writers and receivers left, past ``debris_max_age_hours``: the
    temporary objects of the filesystem targets (``targets``, default every one in use) and
    the staging of requests that were never acknowledged. At start-up, hourly, and by
    ``preserve storage reconcile``."""
    age = (
        older_than if older_than is not None else timedelta(hours=rt.settings.debris_max_age_hours)
    )
    swept = Swept()
    with rt.sessions.begin() as session:
        profiles = loaded_profiles(rt, session)
        left = staging_sweep.unacknowledged(session, rt.settings.staging_dir, age)
    seen: set[str] = set()
    for profile in profiles:
        for target in profile.targets:
            if target.name in seen or (targets is not None and target.name not in targets):
                continue
            seen.add(target.name)
            try:
                store = rt.store(profile.name, target.name)
                found = debris.temporary_objects(store, age)
                if found and not dry_run:
                    swept.bytes += debris.remove(store, found)
            except (OSError, PreserveError) as exc:
                log.warning("debris on %s not swept: %s", target.name, exc)
                continue
            if found:
                swept.temporary[target.name] = [d.path for d in found]
    swept.staging = [d.sip_id for d in left]
    if left and not dry_run:
        swept.bytes += staging_sweep.remove(rt.settings.staging_dir, left)
    if swept.staging or swept.temporary:
        log.info(
            "debris %s: %d temporary objects, %d unacknowledged staging directories (%d bytes)",
            "found" if dry_run else "removed",
            sum(len(v) for v in swept.temporary.values()),
            len(swept.staging),
            swept.bytes,
        )
    return swept
