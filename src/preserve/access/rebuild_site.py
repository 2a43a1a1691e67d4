"""Rebuilding a lost site: copy back every AIP that belongs on a target, from verified replicas.

An AIP belongs on a target when its storage profile names that target. The survey is cheap and
read-only: it reads the target's tag manifest (which must be the one signed at ingest) and stats
every object the bag should hold; an AIP whose copy is whole and held as verified is left alone.
Everything else is copied from the requested source or the nearest healthy replica, each object
verified by reading it back (``storage.copy``), and the replica marked verified at once. So the
rebuild is idempotent (a second run copies nothing) and resumable (an interrupted run leaves
whole AIPs marked verified and a partial one that the next run completes, keeping the objects
that are already right).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial

from sqlalchemy import select

from preserve.access.restore import read_bag_head
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
from preserve.catalog.db import after_commit
from preserve.catalog.models import Aip, ReplicaState
from preserve.catalog.repository import get_replica
from preserve.errors import InvalidInput, PreserveError
from preserve.ingest.staging import discard  # TODO(layers): the rebuild edge discards
from preserve.runtime import Runtime
from preserve.storage.copy import StoreSource, copy_bag, expected_digests
from preserve.storage.service import load_plan, mark_verified, update_preservation_state
from preserve.storage.throttle import pacer_for

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

    def to_dict(self) -> dict:
        return asdict(self)


def aips_on_target(rt: Runtime, target: str) -> Iterator[tuple[str, str, int]]:
    """(aip id, profile, payload bytes) of every AIP whose profile names ``target``."""
    with rt.sessions.begin() as session:
        rows = session.execute(
            select(Aip.id, Aip.storage_profile, Aip.total_bytes).order_by(Aip.created_at, Aip.id)
        ).all()
    belongs: dict[str, bool] = {}
    for aip_id, profile, size in rows:
        if profile not in belongs:
            belongs[profile] = any(t.name == target for t in rt.profile(profile).targets)
        if belongs[profile]:
            yield aip_id, profile, size


def survey(
    rt: Runtime, target: str, *, deep: bool = False, tick: Callable[[], None] | None = None
) -> SitePlan:
    """What the target holds and what it lacks; reads nothing but tag manifests and sizes."""
    known = {t.name for p in _profiles(rt) for t in p.targets}
    if target not in known:
        raise InvalidInput(f"no storage profile names a target {target!r}")
    plan = SitePlan(target)
    for aip_id, profile, size in aips_on_target(rt, target):
        with rt.sessions.begin() as session:
            record = load_record(session, aip_id)
        need, detail = (Need.RECHECK, "--deep") if deep else _inspect(rt, record, target)
        plan.items.append(PlanItem(aip_id, profile, size, need, detail))
        if tick is not None:
            tick()
    return plan


def _profiles(rt: Runtime):
    with rt.sessions.begin() as session:
        refs = set(session.scalars(select(Aip.storage_profile).distinct()))
    refs.add(rt.settings.storage_profile)
    return [rt.profile(ref) for ref in sorted(refs)]


def _inspect(rt: Runtime, record: AipRecord, target: str) -> tuple[Need, str]:
    store = rt.store(record.profile, target)
    try:
        head = read_bag_head(store, record.aip_id, rt.trusted_keys(), record.tagmanifest_sha256)
    except PreserveError as exc:
        return Need.MISSING, str(exc)
    sizes = bag_objects(head.tag_sha256, {p: f.size for p, f in record.files.items()})
    problems = object_problems(store, record.aip_id, sizes)
    if problems:
        first = next(iter(problems.items()))
        return Need.INCOMPLETE, f"{len(problems)} object(s) not usable, e.g. {first[0]} {first[1]}"
    if record.replicas.get(target, (None, None))[0] != ReplicaState.VERIFIED:
        return Need.UNVERIFIED, "present but not verified in the catalogue"
    return Need.PRESENT, ""


def rebuild(
    rt: Runtime,
    plan: SitePlan,
    *,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RebuildReport:
    """Copy every AIP the plan lacks; each is verified by read-back and marked at once."""
    if source == plan.target:
        raise InvalidInput(f"cannot rebuild {plan.target} from itself")
    report = RebuildReport(plan.target, len(plan.items), len(plan.items) - len(plan.to_copy))
    started = time.monotonic()
    consecutive = 0
    for item in plan.to_copy:
        outcome = copy_one(rt, item, plan.target, source, progress)
        (report.copied if outcome.ok else report.failed).append(outcome)
        report.bytes_copied += item.bytes if outcome.ok else 0
        consecutive = 0 if outcome.ok else consecutive + 1
        if consecutive >= MAX_CONSECUTIVE_FAILURES:
            report.stopped_early = f"{consecutive} AIPs failed in a row; last: {outcome.detail}"
            break
    report.seconds = round(time.monotonic() - started, 3)
    return report


def copy_one(
    rt: Runtime,
    item: PlanItem,
    target: str,
    requested: str | None,
    progress: Callable[[int], None] | None,
) -> CopyOutcome:
    with rt.sessions.begin() as session:
        record = load_record(session, item.aip_id)
        replica = get_replica(session, item.aip_id, target)
        if replica is not None and item.need in (Need.MISSING, Need.INCOMPLETE):
            replica.state = ReplicaState.PENDING  # no longer a copy anyone may read from
    store = rt.store(record.profile, target)
    config = rt.profile(record.profile).target(target)
    attempts = Attempts()
    for name in _sources(rt, record, target, requested, attempts):
        try:
            good = open_source(rt, record, name, check_objects=False)
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
        with rt.sessions.begin() as session:
            aip_plan = load_plan(session, record.aip_id)
            mark_verified(session, aip_plan, target, store)
            if update_preservation_state(session, aip_plan, rt.profile(aip_plan.profile_ref)):
                after_commit(session, partial(discard, rt.settings.staging_dir, aip_plan.sip_id))
        return CopyOutcome(record.aip_id, name, True, f"{item.need.value}: copied from {name}")
    return CopyOutcome(record.aip_id, None, False, str(attempts.error(record.aip_id)))


def _sources(
    rt: Runtime, record: AipRecord, target: str, requested: str | None, attempts: Attempts
) -> list[str]:
    candidates = [t for t in candidate_targets(rt, record) if t != target]
    if requested is None:
        return candidates
    if requested not in candidates:
        attempts.reasons.append(f"{requested}: holds no verified replica of this AIP")
        return []
    return [requested]
