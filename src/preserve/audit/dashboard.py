"""What a preservation officer sees at a glance: holdings per target, site and medium; AIPs that
meet their profile's policy and those that do not; open failures kept apart from repaired ones;
recent repairs and alerts. Aggregates only, so it stays fast with many AIPs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from preserve.audit import queries
from preserve.audit.status import AuditStatus, audit_status
from preserve.audit.targets import TargetPolicy
from preserve.catalog.models import Alert, FixityCheck
from preserve.errors import ConfigurationError
from preserve.storage.status import StorageStatus, storage_status
from preserve.storage.stores import Stores

log = logging.getLogger(__name__)


@dataclass
class Holding:
    key: str
    copies: int = 0
    bytes: int = 0


@dataclass
class Dashboard:
    aips: int
    meeting_policy: int
    not_meeting_policy: int
    by_target: list[Holding]
    by_site: list[Holding]
    by_medium: list[Holding]
    audit: AuditStatus
    storage: StorageStatus
    open_failures: list[FixityCheck]
    recent_repairs: list[FixityCheck]
    alerts: list[Alert] = field(default_factory=list)


def dashboard(
    session: Session,
    stores: Stores,
    policies: dict[str, TargetPolicy],
    now: datetime,
    grace: timedelta,
) -> Dashboard:
    storage = storage_status(session, sorted(policies), now)
    targets = sorted({*policies, *(t.target for t in storage.targets)})
    placements = queries.verified_target_sets(session, targets)
    refs = {profile for profile, _, _ in placements} | {stores.default_profile}
    places = _places(stores, refs)
    site: dict[str, Holding] = {}
    medium: dict[str, Holding] = {}
    for t in storage.targets:
        s, m = places.get(t.target, ("?", "?"))
        for bucket, key in ((site, s), (medium, m)):
            h = bucket.setdefault(key, Holding(key))
            h.copies += t.verified
            h.bytes += t.verified_bytes
    meeting = _meeting(stores, placements, targets)
    total = queries.aip_count(session)
    return Dashboard(
        aips=total,
        meeting_policy=meeting,
        not_meeting_policy=total - meeting,
        by_target=[Holding(t.target, t.verified, t.verified_bytes) for t in storage.targets],
        by_site=sorted(site.values(), key=lambda h: h.key),
        by_medium=sorted(medium.values(), key=lambda h: h.key),
        audit=audit_status(session, policies, now, grace),
        storage=storage,
        open_failures=queries.open_failures(session),
        recent_repairs=queries.recent_repairs(session),
        alerts=queries.recent_alerts(session),
    )


def _places(stores: Stores, refs: set[str]) -> dict[str, tuple[str, str]]:
    """target → (site, medium), from every profile AIPs were placed under."""
    found: dict[str, tuple[str, str]] = {}
    for ref in sorted(refs):
        try:
            profile = stores.profile(ref)
        except ConfigurationError as exc:
            log.warning("dashboard: cannot load storage profile %s: %s", ref, exc)
            continue
        for target in profile.targets:
            found.setdefault(target.name, (target.site, target.media))
    return found


def _meeting(stores: Stores, placements: list[tuple[str, int, int]], targets: list[str]) -> int:
    held = 0
    for profile_ref, mask, n in placements:
        try:
            profile = stores.profile(profile_ref)
        except ConfigurationError:
            continue  # cannot be judged: counted as not meeting
        verified = {name for i, name in enumerate(targets) if mask >> i & 1}
        if profile.policy_holds(verified):
            held += n
    return held
