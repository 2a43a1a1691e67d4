"""What the audit needs to know about each target: its interval, budget, and whether it is cold.

Targets are named in storage profiles; a replica names only its target. The policies of every
profile that AIPs were placed under (and the default profile) are merged by target name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from preserve.audit import repository
from preserve.errors import ConfigurationError
from preserve.settings import Settings
from preserve.storage.profiles import S3Target, StorageProfile
from preserve.storage.stores import Stores

log = logging.getLogger(__name__)

ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
DEFAULT_INTERVAL_DAYS = 90


@dataclass(frozen=True)
class TargetPolicy:
    name: str
    interval_days: int = DEFAULT_INTERVAL_DAYS
    bandwidth_mb_s: float = 100.0
    cold: bool = False
    sample_share: float = 1.0

    @property
    def interval(self) -> timedelta:
        return timedelta(days=self.interval_days)

    @property
    def mode(self) -> str:
        return "sample" if self.cold else "full"


def policies_of(profile: StorageProfile, settings: Settings) -> dict[str, TargetPolicy]:
    found = {}
    budgets = settings.audit_bandwidth_mb_s_per_target
    for target in profile.targets:
        cold = isinstance(target, S3Target) and (target.storage_class or "") in ARCHIVE_CLASSES
        found[target.name] = TargetPolicy(
            name=target.name,
            interval_days=profile.audit_interval_days(target.name),
            bandwidth_mb_s=budgets.get(target.name, settings.audit_bandwidth_mb_s),
            cold=cold,
            sample_share=settings.audit_cold_sample_share if cold else 1.0,
        )
    return found


def target_policies(
    session: Session, stores: Stores, settings: Settings
) -> dict[str, TargetPolicy]:
    """Every target any AIP was placed on, or the default profile names, with its policy."""
    refs = repository.profile_refs(session)
    refs.add(settings.storage_profile)
    found: dict[str, TargetPolicy] = {}
    for ref in sorted(refs):
        try:
            profile = stores.profile(ref)
        except ConfigurationError as exc:
            log.warning("audit: cannot load storage profile %s: %s", ref, exc)
            continue
        for name, policy in policies_of(profile, settings).items():
            found.setdefault(name, policy)
    return found


def policy_for(policies: dict[str, TargetPolicy], target: str, settings: Settings) -> TargetPolicy:
    """A target no profile names any more keeps being audited on the default interval."""
    default = TargetPolicy(target, bandwidth_mb_s=settings.audit_bandwidth_mb_s)
    return policies.get(target) or default
