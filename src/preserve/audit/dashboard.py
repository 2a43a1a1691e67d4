"""What a preservation officer sees at a glance: holdings per target, site and medium; AIPs that
meet their profile's policy and those that do not; fixity coverage; open failures kept apart from
repaired ones; recent repairs and alerts.

The aggregates (:class:`Figures`) count every replica: with 100,000 AIPs that takes over a
second, too long for each page view. The scheduler counts them every minute or so into a
snapshot (:func:`take_snapshot`), the page reads the latest and says when it was taken, and
counts live (storing the result) only while there is none. Open failures, recent repairs and
alerts are read live at every view: few rows, each served by an index.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from preserve.audit import queries
from preserve.audit.status import TargetStatus, coverage_holdings, status_of
from preserve.audit.targets import TargetPolicy, target_policies
from preserve.catalog.models import Alert, FixityCheck
from preserve.errors import ConfigurationError
from preserve.settings import Settings
from preserve.storage.stores import Stores

log = logging.getLogger(__name__)


@dataclass
class Holding:
    key: str
    copies: int = 0
    bytes: int = 0


@dataclass
class Figures:
    """The dashboard's aggregates as of ``taken_at``: what a snapshot keeps."""

    taken_at: datetime
    aips: int
    meeting_policy: int
    not_meeting_policy: int
    by_target: list[Holding]
    by_site: list[Holding]
    by_medium: list[Holding]
    coverage: list[TargetStatus]

    def to_dict(self) -> dict:
        found = asdict(self)
        del found["taken_at"]  # the snapshot row's own column
        return found

    @classmethod
    def from_dict(cls, taken_at: datetime, data: dict) -> Figures:
        def holdings(key: str) -> list[Holding]:
            return [Holding(**h) for h in data[key]]

        return cls(
            taken_at=taken_at,
            aips=int(data["aips"]),
            meeting_policy=int(data["meeting_policy"]),
            not_meeting_policy=int(data["not_meeting_policy"]),
            by_target=holdings("by_target"),
            by_site=holdings("by_site"),
            by_medium=holdings("by_medium"),
            coverage=[TargetStatus(**t) for t in data["coverage"]],
        )


@dataclass
class Dashboard:
    figures: Figures
    open_failures: list[FixityCheck]
    recent_repairs: list[FixityCheck]
    alerts: list[Alert] = field(default_factory=list)


def dashboard(session: Session, stores: Stores, settings: Settings, now: datetime) -> Dashboard:
    """The latest snapshot's figures (a new one counted and stored if there is none yet) with
    the live lists."""
    return Dashboard(
        figures=latest_figures(session) or take_snapshot(session, stores, settings, now),
        open_failures=queries.open_failures(session),
        recent_repairs=queries.recent_repairs(session),
        alerts=queries.recent_alerts(session),
    )


def latest_figures(session: Session) -> Figures | None:
    """The latest snapshot's figures; None when there is none, or it cannot be read (written
    by another version)."""
    row = queries.latest_snapshot(session)
    if row is None:
        return None
    try:
        return Figures.from_dict(row.taken_at, row.figures)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("dashboard: snapshot %s not readable, counting anew: %r", row.id, exc)
        return None


def take_snapshot(session: Session, stores: Stores, settings: Settings, now: datetime) -> Figures:
    """Count the figures now and store them as the latest snapshot (the caller commits)."""
    policies = target_policies(session, stores, settings)
    grace = timedelta(hours=settings.audit_overdue_grace_hours)
    counted = figures(session, stores, policies, now, grace)
    queries.save_snapshot(session, now, counted.to_dict())
    return counted


def figures(
    session: Session,
    stores: Stores,
    policies: dict[str, TargetPolicy],
    now: datetime,
    grace: timedelta,
) -> Figures:
    """The aggregates, counted live: every target of the profiles in use, even one that holds
    nothing yet, and every target holding a replica."""
    held = coverage_holdings(session, policies, now)
    targets = sorted({*policies, *held})
    by_target = [_verified(t, held.get(t)) for t in targets]
    placements = queries.verified_target_sets(session, targets)
    refs = {profile for profile, _, _ in placements} | {stores.default_profile}
    places = _places(stores, refs)
    site: dict[str, Holding] = {}
    medium: dict[str, Holding] = {}
    for t in by_target:
        s, m = places.get(t.key, ("?", "?"))
        for bucket, key in ((site, s), (medium, m)):
            h = bucket.setdefault(key, Holding(key))
            h.copies += t.copies
            h.bytes += t.bytes
    meeting = _meeting(stores, placements, targets)
    total = queries.aip_count(session)
    return Figures(
        taken_at=now,
        aips=total,
        meeting_policy=meeting,
        not_meeting_policy=total - meeting,
        by_target=by_target,
        by_site=sorted(site.values(), key=lambda h: h.key),
        by_medium=sorted(medium.values(), key=lambda h: h.key),
        coverage=status_of(session, held, policies, now, grace).targets,
    )


def _verified(target: str, held: queries.Holdings | None) -> Holding:
    return Holding(target, held.verified, held.verified_bytes) if held else Holding(target)


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
