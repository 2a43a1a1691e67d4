"""Placement and replication of AIPs over a profile's targets.

The AIP goes at once to every target not known to be down, each copy in its own thread (the
SIP is STORED once one is proven); one replication job per target without a proven copy is
queued in the same transaction. Each job names its target as the store it needs, so a target
that is down holds only its own copies (see :mod:`preserve.catalog.queue`): targets known to be
down are tried only when no other took the first copy, and a failed first copy marks its
target down too. The SIP is PRESERVED exactly when the
profile's policy holds over verified replicas; the staged bag may be removed once every target
holds a verified copy (:func:`update_preservation_state` says so; the edge removes it).

A copy is three steps, driven by the job handler (:mod:`preserve.jobs.tasks.storage`) so that
no transaction is held while bytes move: ``plan_*`` reads the catalogue in one transaction,
:func:`first_copy` / :func:`copy_to_target` copy with no session at all, ``record_*`` writes
the outcome in another. What the copy needs from outside storage comes in an :class:`Origin`:
the staged bag's directory (ingest's) and the check of the bag's signature (trust's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.aip.retention import lock_until, retention_end
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, Replica, ReplicaState, Sip, SipState
from preserve.catalog.queue import enqueue, note_outage
from preserve.catalog.repository import get_replica, verified_targets
from preserve.catalog.types import utcnow
from preserve.errors import IntegrityError, NotFound
from preserve.storage import repository as repo
from preserve.storage.base import (
    SourceUnavailable,
    StorageError,
    Store,
    proves_by_checksum,
    read_bytes,
)
from preserve.storage.copy import (
    BagSource,
    DirectorySource,
    StoreSource,
    copy_bag,
    expected_digests,
)
from preserve.storage.preservation import settle
from preserve.storage.profiles import StorageProfile
from preserve.storage.stores import Stores
from preserve.storage.throttle import pacer_for

log = logging.getLogger(__name__)

VerifyTagmanifest = Callable[[bytes, bytes], None]
"""``verify(signature_document, tagmanifest)``: raises :class:`IntegrityError` unless the
signature document (the bytes of ``bagit.SIGNATURE``) is a trusted signature of the tag
manifest's bytes. The edge builds it with :mod:`preserve.trust.signing`."""

FailureNote = Callable[[str, Exception], None]
"""``note(target, error)``: the edge records a failed first copy on ``target`` at once, in its
own transaction (:func:`record_target_failure`), so other jobs see the outage meanwhile."""


@dataclass(frozen=True)
class AipPlan:
    aip_id: str
    sip_id: str
    agency_id: int
    profile_ref: str
    payload_sha256: dict[str, str]
    tagmanifest_sha256: str
    payload_size: dict[str, int] = field(default_factory=dict)
    # A 10- or 30-year record's Object Lock ends when its retention does (None: permanent).
    retain_until: datetime | None = None


@dataclass(frozen=True)
class CopyPlan:
    """An AIP to copy, the targets that hold a verified replica of it (the sources once the
    staged bag is gone), and the resources known to be down (``target:<name>``)."""

    aip: AipPlan
    verified: frozenset[str]
    down: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Origin:
    """What a copy takes from outside storage: the staged bag's directory (read while it
    holds a signature) and the check of the bag's signature."""

    staged: Path
    verify: VerifyTagmanifest


def target_resource(target: str) -> str:
    """The name under which jobs wait for a target and its outages are kept."""
    return f"target:{target}"


def load_plan(session: Session, aip_id: str) -> AipPlan:
    aip = session.get(Aip, aip_id)
    if aip is None:
        raise NotFound(f"no AIP {aip_id}")
    rows = repo.aip_files(session, aip_id)
    return AipPlan(
        aip.id,
        aip.sip_id,
        aip.agency_id,
        aip.storage_profile,
        {p: d for p, d, _ in rows},
        aip.tagmanifest_sha256,
        {p: n for p, _, n in rows},
        lock_until(retention_end(aip.retention, aip.record_date, aip.year)),
    )


# -- plan -----------------------------------------------------------------------------------


def plan_store(session: Session, aip_id: str) -> CopyPlan:
    """What the first copy of the AIP needs to know from the catalogue."""
    return CopyPlan(
        load_plan(session, aip_id),
        frozenset(verified_targets(session, aip_id)),
        frozenset(repo.resources_down(session)),
    )


def plan_replica(session: Session, aip_id: str, target: str) -> CopyPlan | None:
    """The copy of the AIP to ``target``; None when ``target`` already holds a verified one."""
    plan = load_plan(session, aip_id)
    replica = get_replica(session, aip_id, target)
    if replica is not None and replica.state == ReplicaState.VERIFIED:
        return None
    return CopyPlan(plan, frozenset(verified_targets(session, aip_id)))


# -- execute (no session) -------------------------------------------------------------------


def first_copy(plan: CopyPlan, stores: Stores, origin: Origin, note: FailureNote) -> list[str]:
    """The targets that hold a proven copy, in profile order (at least one).

    A target that already holds a verified copy is the answer on its own. Otherwise the bag
    goes at once to every target not known to be down (:func:`copy_concurrently`); only when
    none of them took it, to those known to be down, one after another. The source is checked
    once first, so a failure is the target's: each is passed to ``note`` (a target that is
    down gets an outage, one that keeps bad bytes a failure event), and the copy to it is left
    to its replication job."""
    if plan.verified:
        return [sorted(plan.verified)[0]]
    names = [t.name for t in stores.profile(plan.aip.profile_ref).targets]
    down = [n for n in names if target_resource(n) in plan.down]
    source, expected = _checked_source(plan, stores, origin, exclude=None)
    failures: list[Exception] = []
    for group in ([n for n in names if n not in down], *([n] for n in down)):
        outcomes = copy_concurrently(stores, plan.aip, group, source, expected, _noting(note))
        failures += [e for e in outcomes.values() if e is not None]
        proven = [t for t, failure in outcomes.items() if failure is None]
        if proven:
            return proven
    message = "no target accepted the AIP: " + "; ".join(str(e) for e in failures)
    corrupt = any(isinstance(e, IntegrityError) for e in failures)
    raise IntegrityError(message) if corrupt else StorageError(message)


def copy_concurrently(
    stores: Stores,
    plan: AipPlan,
    targets: list[str],
    source: BagSource,
    expected: dict[str, str],
    failed: FailureNote,
) -> dict[str, Exception | None]:
    """Copy the bag to every one of ``targets`` at once, one thread each, and wait for all:
    target -> None when its copy is proven, else what it failed with, each failure passed to
    ``failed`` (in the caller's thread) as soon as it is known. Each copy writes only its own
    store and is proven on its own, so a failing target stops none of the others. Raises
    :class:`SourceUnavailable` when the source failed and no copy was proven."""
    outcomes: dict[str, Exception | None] = {}
    with ThreadPoolExecutor(max(1, len(targets)), thread_name_prefix="copy") as pool:
        futures = {pool.submit(_attempt, stores, plan, t, source, expected): t for t in targets}
        for future in as_completed(futures):
            outcomes[futures[future]] = failure = future.result()
            if failure is not None:
                failed(futures[future], failure)
    unavailable = [e for e in outcomes.values() if isinstance(e, SourceUnavailable)]
    if unavailable and all(outcomes.values()):
        raise unavailable[0]
    return {t: outcomes[t] for t in targets}


def _attempt(
    stores: Stores, plan: AipPlan, target: str, source: BagSource, expected: dict[str, str]
) -> Exception | None:
    try:
        _copy(stores, plan, target, source, expected)
    except (StorageError, IntegrityError) as exc:
        return exc
    return None


def _noting(note: FailureNote) -> FailureNote:
    """``note`` for the targets' failures; the source's are not theirs."""

    def failed(target: str, failure: Exception) -> None:
        if not isinstance(failure, SourceUnavailable):
            note(target, failure)

    return failed


def copy_to_target(plan: CopyPlan, target: str, stores: Stores, origin: Origin) -> None:
    """Copy the AIP to ``target`` from the staged bag or another verified replica, proven."""
    source, expected = _checked_source(plan, stores, origin, exclude=target)
    _copy(stores, plan.aip, target, source, expected)


def _checked_source(
    plan: CopyPlan, stores: Stores, origin: Origin, exclude: str | None
) -> tuple[BagSource, dict[str, str]]:
    """A source for the bag whose signature verifies, and the digest every file must have."""
    source, tagmanifest, signature = _good_source(plan, stores, origin.staged, exclude=exclude)
    origin.verify(signature, tagmanifest)
    aip = plan.aip
    return source, expected_digests(aip.payload_sha256, tagmanifest, aip.tagmanifest_sha256)


def _copy(
    stores: Stores, plan: AipPlan, target: str, source: BagSource, expected: dict[str, str]
) -> None:
    store = stores.store(plan.profile_ref, target)
    config = stores.profile(plan.profile_ref).target(target)
    copy_bag(
        source,
        store,
        plan.aip_id,
        expected,
        list(bagit.UNRECORDED),
        sizes={f"data/{p}": n for p, n in plan.payload_size.items()},
        pacer=pacer_for(target, config.max_write_mbps),
        retain_until=plan.retain_until,
    )


def _good_source(
    plan: CopyPlan, stores: Stores, staged: Path, exclude: str | None
) -> tuple[BagSource, bytes, bytes]:
    """The staged bag while it exists, else a verified replica on another target; with the
    bag's tag manifest and signature document."""
    if (staged / bagit.SIGNATURE).exists():
        local = DirectorySource(staged)
        return local, _read(local, bagit.TAGMANIFEST), _read(local, bagit.SIGNATURE)
    errors = []
    for name in sorted(plan.verified - {exclude}):
        store = stores.store(plan.aip.profile_ref, name)
        try:
            tagmanifest = read_bytes(store, aip_key(plan.aip.aip_id, bagit.TAGMANIFEST))
            signature = read_bytes(store, aip_key(plan.aip.aip_id, bagit.SIGNATURE))
        except (StorageError, IntegrityError) as exc:
            errors.append(str(exc))
            continue
        return StoreSource(store, plan.aip.aip_id), tagmanifest, signature
    raise SourceUnavailable(
        f"no readable source for AIP {plan.aip.aip_id}: {'; '.join(errors) or 'none'}"
    )


def _read(source: DirectorySource, relpath: str) -> bytes:
    with source.open(relpath) as f:
        return f.read()


# -- record ---------------------------------------------------------------------------------


def record_first_copy(
    session: Session, plan: AipPlan, stores: Stores, proven: Sequence[str]
) -> bool:
    """The copies on ``proven`` (see :func:`first_copy`) are verified: the SIP is STORED and
    the copies to the other targets are queued. True when every target holds a verified copy
    (the staged bag may go once this commits)."""
    profile = stores.profile(plan.profile_ref)
    repo.lock_sip(session, plan.sip_id)
    for target in proven:
        mark_verified(session, plan, target, stores.store(plan.profile_ref, target))
    sip = session.get(Sip, plan.sip_id)
    if sip is not None and sip.state == SipState.VALIDATED:
        sip.state = SipState.STORED
    for target in profile.targets:
        if target.name not in proven:
            queue_copy(session, plan.aip_id, target.name)
    return update_preservation_state(session, plan, profile)


def record_replica(session: Session, plan: AipPlan, stores: Stores, target: str) -> bool:
    """The copy on ``target`` is verified; True as :func:`record_first_copy`."""
    repo.lock_sip(session, plan.sip_id)
    mark_verified(session, plan, target, stores.store(plan.profile_ref, target))
    return update_preservation_state(session, plan, stores.profile(plan.profile_ref))


def record_target_failure(
    session: Session, plan: AipPlan, target: str, exc: Exception, *, max_backoff: float
) -> None:
    """A first copy failed on ``target``: bad bytes kept there are a failed copy; anything
    else means the target is down (an outage, retried with backoff up to ``max_backoff``)."""
    if isinstance(exc, IntegrityError):
        record_failed_copy(session, plan, target, str(exc))
    else:
        note_outage(session, target_resource(target), str(exc), max_backoff=max_backoff)


def queue_copy(session: Session, aip_id: str, target: str) -> None:
    """Queue (or re-arm) the job that copies the AIP to ``target``; the caller commits."""
    replica = _ensure_replica(session, aip_id, target)
    if replica.state != ReplicaState.VERIFIED:
        replica.state = ReplicaState.PENDING
    enqueue(
        session,
        "storage.replicate",
        {"aip_id": aip_id, "target": target},
        dedupe_key=f"replicate:{aip_id}:{target}",
        resource=target_resource(target),
    )


def _ensure_replica(session: Session, aip_id: str, target: str) -> Replica:
    replica = get_replica(session, aip_id, target)
    if replica is None:
        replica = Replica(aip_id=aip_id, target=target, state=ReplicaState.PENDING)
        session.add(replica)
        session.flush()
    return replica


def record_failed_copy(session: Session, plan: AipPlan, target: str, detail: str) -> None:
    """The copy on ``target`` was not proven: its replica FAILED (unless verified before)."""
    replica = _ensure_replica(session, plan.aip_id, target)
    if replica.state != ReplicaState.VERIFIED:
        replica.state = ReplicaState.FAILED
    record_event(
        session,
        EventType.REPLICATION,
        Outcome.FAILURE,
        object_type="aip",
        object_id=plan.aip_id,
        agency_id=plan.agency_id,
        target=target,
        detail=f"copy on {target} not proven: {detail}"[:2000],
    )


def mark_verified(session: Session, plan: AipPlan, target: str, store: Store) -> None:
    """The replica on ``target`` (whose open store is ``store``) is proven."""
    replica = _ensure_replica(session, plan.aip_id, target)
    replica.state = ReplicaState.VERIFIED
    replica.verified_at = utcnow()
    record_event(
        session,
        EventType.REPLICATION,
        Outcome.SUCCESS,
        object_type="aip",
        object_id=plan.aip_id,
        agency_id=plan.agency_id,
        target=target,
        detail=f"copy on {target} verified by {_proof(store)}",
    )


def _proof(store: Store) -> str:
    if proves_by_checksum(store):
        return "the server's SHA-256 checksums of the bytes sent"
    return "read-back"


def update_preservation_state(session: Session, plan: AipPlan, profile: StorageProfile) -> bool:
    """PRESERVED exactly when the policy holds over verified replicas. True when every
    target of the profile holds a verified copy: the caller may then remove the staged bag
    once the transaction commits."""
    verified = verified_targets(session, plan.aip_id)
    sip = session.get(Sip, plan.sip_id)
    if sip is None:
        return False
    if sip.state == SipState.AT_RISK:  # a new copy may prove the policy again
        aip = session.get(Aip, plan.aip_id)
        if aip is not None:
            settle(session, aip, profile, f"copy of {plan.aip_id} proven")
    elif profile.policy_holds(verified) and sip.state in (SipState.VALIDATED, SipState.STORED):
        sip.state = SipState.PRESERVED
        record_event(
            session,
            EventType.REPLICATION,
            Outcome.SUCCESS,
            object_type="aip",
            object_id=plan.aip_id,
            agency_id=plan.agency_id,
            detail=f"policy of profile {profile.name} holds over {', '.join(sorted(verified))}",
        )
    return {t.name for t in profile.targets} <= verified
