"""Rebuilding a lost site: copy back every AIP that belongs on a target, from verified replicas.

An AIP belongs on a target when its storage profile names that target. The survey is cheap and
read-only: it reads the target's tag manifest (which must be the one signed at ingest) and stats
every object the bag should hold; an AIP whose copy is whole and held as verified is left alone.
Everything else is copied from the requested source or the nearest healthy replica, each object
verified by reading it back (``storage.copy``), and the replica marked verified at once. So the
rebuild is idempotent (a second run copies nothing) and resumable (an interrupted run leaves
whole AIPs marked verified and a partial one that the next run completes, keeping the objects
that are already right).

The edge (``preserve storage rebuild``) drives the steps, a short transaction around each
catalogue read or write and none while a store is read or written: :func:`aips_on_target`,
then per AIP :func:`survey_one`; to rebuild, :func:`start_rebuild`, then per AIP
:func:`prepare_copy`, :func:`copy_one`, :func:`record_copy` and :func:`add_outcome`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy.orm import Session

from preserve.access.repository import aip_profiles, aips_oldest_first
from preserve.access.sources import (
    AipRecord,
    Attempts,
    bag_objects,
    candidate_targets,
    load_record,
    object_problems,
    open_source,
)
from preserve.aip import bag as bagit
from preserve.catalog.models import ReplicaState
from preserve.catalog.repository import get_replica
from preserve.errors import InvalidInput, PreserveError
from preserve.storage.copy import StoreSource, copy_bag, expected_digests
from preserve.storage.service import load_plan, mark_verified, update_preservation_state
from preserve.storage.stores import Stores
from preserve.storage.throttle import pacer_for
from preserve.trust.bag_check import check_tags
from preserve.trust.keyring import TrustedKeys

MAX_CONSECUTIVE_FAILURES = 10


class Need(enum.StrEnum):
    PRESENT = "present"  # whole, and verified in the catalogue: left alone
    MISSING = "missing"  # no signed tag manifest on the target
    INCOMPLETE = "incomplete"  # tag manifest there, objects missing or of the wrong size
    UNVERIFIED = "unverified"  # looks whole, but the catalogue does not hold it as verified
    RECHECK = "recheck"  # --deep: every object re-read and rewritten if wrong


@dataclass
class PlanItem:
    aip_id: str
    profile: str
    bytes: int
    need: Need
    detail: str = ""


@dataclass
class SitePlan:
    target: str
    items: list[PlanItem] = field(default_factory=list)

    @property
    def to_copy(self) -> list[PlanItem]:
        return [i for i in self.items if i.need != Need.PRESENT]

    @property
    def bytes_to_copy(self) -> int:
        return sum(i.bytes for i in self.to_copy)


@dataclass
class CopyOutcome:
    aip_id: str
    source: str | None
    ok: bool
    detail: str


@dataclass
class RebuildReport:
    target: str
    surveyed: int
    already_present: int
    copied: list[CopyOutcome] = field(default_factory=list)
    failed: list[CopyOutcome] = field(default_factory=list)
    bytes_copied: int = 0
    seconds: float = 0.0
    stopped_early: str | None = None
    consecutive_failures: int = field(default=0, repr=False)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc.pop("consecutive_failures")
        return doc


def aips_on_target(session: Session, stores: Stores, target: str) -> list[tuple[str, str, int]]:
    """(aip id, profile, payload bytes) of every AIP whose profile names ``target``.

    Raises :class:`InvalidInput` when no profile in use names it."""
    refs = aip_profiles(session) | {stores.default_profile}
    if target not in {t.name for ref in sorted(refs) for t in stores.profile(ref).targets}:
        raise InvalidInput(f"no storage profile names a target {target!r}")
    belongs: dict[str, bool] = {}
    found = []
    for aip_id, profile, size in aips_oldest_first(session):
        if profile not in belongs:
            belongs[profile] = any(t.name == target for t in stores.profile(profile).targets)
        if belongs[profile]:
            found.append((aip_id, profile, size))
    return found


def survey_one(
    stores: Stores, trusted: TrustedKeys, record: AipRecord, target: str, *, deep: bool = False
) -> PlanItem:
    """What ``target`` lacks of one AIP; reads nothing but its tag manifest and sizes.

    The edge (``preserve storage rebuild``) lists :func:`aips_on_target`, loads each record in a
    short transaction and calls this with none open."""
    need, detail = (Need.RECHECK, "--deep") if deep else _inspect(stores, trusted, record, target)
    return PlanItem(record.aip_id, record.profile, record.total_bytes, need, detail)


def _inspect(
    stores: Stores, trusted: TrustedKeys, record: AipRecord, target: str
) -> tuple[Need, str]:
    store = stores.store(record.profile, target)
    check = check_tags(store, record.aip_id, trusted, record.tagmanifest_sha256)
    if check.signature is None or not check.tag_sha256:  # no signed bag head at all
        return Need.MISSING, "; ".join(str(p) for p in check.problems[:3])
    sizes = bag_objects(check.tag_sha256, {p: f.size for p, f in record.files.items()})
    problems = object_problems(store, record.aip_id, sizes)
    problems.update({p.path: p.detail for p in check.problems if p.path not in problems})
    if problems:
        first = next(iter(problems.items()))
        return Need.INCOMPLETE, f"{len(problems)} object(s) not usable, e.g. {first[0]} {first[1]}"
    if record.replicas.get(target, (None, None))[0] != ReplicaState.VERIFIED:
        return Need.UNVERIFIED, "present but not verified in the catalogue"
    return Need.PRESENT, ""


def start_rebuild(plan: SitePlan, source: str | None) -> RebuildReport:
    if source == plan.target:
        raise InvalidInput(f"cannot rebuild {plan.target} from itself")
    return RebuildReport(plan.target, len(plan.items), len(plan.items) - len(plan.to_copy))


def add_outcome(report: RebuildReport, item: PlanItem, outcome: CopyOutcome) -> bool:
    """Count one AIP's outcome; False once too many failed in a row (the rebuild stops)."""
    (report.copied if outcome.ok else report.failed).append(outcome)
    report.bytes_copied += item.bytes if outcome.ok else 0
    report.consecutive_failures = 0 if outcome.ok else report.consecutive_failures + 1
    if report.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
        report.stopped_early = (
            f"{report.consecutive_failures} AIPs failed in a row; last: {outcome.detail}"
        )
        return False
    return True


def prepare_copy(session: Session, item: PlanItem, target: str) -> AipRecord:
    """The AIP's record; a replica known to be broken is no longer one anyone may read from."""
    record = load_record(session, item.aip_id)
    replica = get_replica(session, item.aip_id, target)
    if replica is not None and item.need in (Need.MISSING, Need.INCOMPLETE):
        replica.state = ReplicaState.PENDING
    return record


def copy_one(
    stores: Stores,
    trusted: TrustedKeys,
    record: AipRecord,
    item: PlanItem,
    target: str,
    requested: str | None,
    progress: Callable[[int], None] | None,
) -> CopyOutcome:
    """Copy one AIP to ``target`` from the first source that works (no session open)."""
    store = stores.store(record.profile, target)
    config = stores.profile(record.profile).target(target)
    attempts = Attempts()
    for name in _sources(stores, record, target, requested, attempts):
        try:
            good = open_source(stores, trusted, record, name, check_objects=False)
            expected = expected_digests(
                {p: f.sha256 for p, f in record.files.items()},
                good.tagmanifest,
                record.tagmanifest_sha256,
            )
            copy_bag(
                StoreSource(good.store, record.aip_id),
                store,
                record.aip_id,
                expected,
                list(bagit.UNRECORDED),
                progress,
                sizes={f"data/{p}": f.size for p, f in record.files.items()},
                pacer=pacer_for(target, config.max_write_mbps),
            )
        except PreserveError as exc:
            attempts.add(name, exc)
            continue
        return CopyOutcome(record.aip_id, name, True, f"{item.need.value}: copied from {name}")
    return CopyOutcome(record.aip_id, None, False, str(attempts.error(record.aip_id)))


def record_copy(session: Session, stores: Stores, outcome: CopyOutcome, target: str) -> str | None:
    """Mark a copied AIP's replica verified and its SIP preserved when the policy holds.

    Returns the SIP id whose staged bag may go once this commits (every target of the profile
    then holds a verified copy; the edge discards it), else None."""
    if not outcome.ok:
        return None
    aip_plan = load_plan(session, outcome.aip_id)
    mark_verified(session, aip_plan, target, stores.store(aip_plan.profile_ref, target))
    whole = update_preservation_state(session, aip_plan, stores.profile(aip_plan.profile_ref))
    return aip_plan.sip_id if whole else None


def _sources(
    stores: Stores, record: AipRecord, target: str, requested: str | None, attempts: Attempts
) -> list[str]:
    candidates = [t for t in candidate_targets(stores, record) if t != target]
    if requested is None:
        return candidates
    if requested not in candidates:
        attempts.reasons.append(f"{requested}: holds no verified replica of this AIP")
        return []
    return [requested]
