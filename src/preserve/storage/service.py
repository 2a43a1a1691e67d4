"""Placement and replication of AIPs over a profile's targets.

The AIP goes first to the first target that accepts it (the SIP is then STORED); one
replication job per other target is queued in the same transaction. Each job names its target
as the store it needs, so a target that is down holds only its own copies (see
:mod:`preserve.catalog.queue`): targets known to be down are tried last for the first copy, and
a failed first copy marks its target down too. The SIP is PRESERVED exactly when the
profile's policy holds over verified replicas; the staged bag is removed once every target
holds a verified copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.catalog.db import after_commit
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, File, Outage, Replica, ReplicaState, Sip, SipState
from preserve.catalog.queue import enqueue, note_outage
from preserve.catalog.repository import get_replica, verified_targets
from preserve.catalog.types import utcnow
from preserve.errors import IntegrityError, NotFound
from preserve.ingest.staging import bag_dir, discard
from preserve.runtime import Runtime
from preserve.storage.base import SourceUnavailable, StorageError, read_bytes
from preserve.storage.copy import (
    BagSource,
    DirectorySource,
    StoreSource,
    copy_bag,
    expected_digests,
)
from preserve.storage.profiles import StorageProfile
from preserve.storage.throttle import pacer_for
from preserve.trust.signing import Signature, verify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AipPlan:
    aip_id: str
    sip_id: str
    agency_id: int
    profile_ref: str
    payload_sha256: dict[str, str]
    tagmanifest_sha256: str
    payload_size: dict[str, int] = field(default_factory=dict)


def target_resource(target: str) -> str:
    """The name under which jobs wait for a target and its outages are kept."""
    return f"target:{target}"


def load_plan(session: Session, aip_id: str) -> AipPlan:
    aip = session.get(Aip, aip_id)
    if aip is None:
        raise NotFound(f"no AIP {aip_id}")
    rows = session.execute(
        select(File.path, File.sha256, File.size).where(File.aip_id == aip_id)
    ).all()
    return AipPlan(
        aip.id,
        aip.sip_id,
        aip.agency_id,
        aip.storage_profile,
        {p: d for p, d, _ in rows},
        aip.tagmanifest_sha256,
        {p: n for p, _, n in rows},
    )


def store_aip(rt: Runtime, aip_id: str) -> None:
    """Write the AIP to the first target that takes it, then queue the other copies."""
    with rt.sessions.begin() as session:
        plan = load_plan(session, aip_id)
        done = verified_targets(session, aip_id)
        down = set(session.scalars(select(Outage.resource)))
    profile = rt.profile(plan.profile_ref)
    stored_on = next(iter(sorted(done)), None) or _first_copy(rt, plan, profile, down)
    with rt.sessions.begin() as session:
        _lock_sip(session, plan)
        mark_verified(rt, session, plan, stored_on)
        sip = session.get(Sip, plan.sip_id)
        if sip is not None and sip.state == SipState.VALIDATED:
            sip.state = SipState.STORED
        for target in profile.targets:
            if target.name != stored_on:
                queue_copy(session, plan.aip_id, target.name)
        update_preservation_state(rt, session, plan)


def _first_copy(rt: Runtime, plan: AipPlan, profile: StorageProfile, down: set[str]) -> str:
    """The first target, in profile order but those known to be down last, that takes a
    proven copy. The source is checked once first, so a failure in the loop is the target's:
    a target that is down gets an outage, one that keeps bad bytes a failure event."""
    targets = sorted(profile.targets, key=lambda t: target_resource(t.name) in down)
    source, expected = _checked_source(rt, plan, exclude=None)
    failures: list[str] = []
    corrupt = False
    for target in targets:
        try:
            _copy(rt, plan, target.name, source, expected)
        except SourceUnavailable:
            raise
        except StorageError as exc:
            failures.append(str(exc))
            with rt.sessions.begin() as session:
                note_outage(
                    session,
                    target_resource(target.name),
                    str(exc),
                    max_backoff=rt.settings.storage_retry_max_seconds,
                )
        except IntegrityError as exc:
            failures.append(str(exc))
            corrupt = True
            with rt.sessions.begin() as session:
                _record_failed_copy(session, plan, target.name, str(exc))
        else:
            return target.name
    message = "no target accepted the AIP: " + "; ".join(failures)
    raise IntegrityError(message) if corrupt else StorageError(message)


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


def replicate_aip(rt: Runtime, aip_id: str, target: str) -> None:
    with rt.sessions.begin() as session:
        plan = load_plan(session, aip_id)
        replica = get_replica(session, aip_id, target)
        if replica is not None and replica.state == ReplicaState.VERIFIED:
            return
    try:
        copy_to_target(rt, plan, target)
    except IntegrityError as exc:
        with rt.sessions.begin() as session:
            _record_failed_copy(session, plan, target, str(exc))
        raise
    with rt.sessions.begin() as session:
        _lock_sip(session, plan)
        mark_verified(rt, session, plan, target)
        update_preservation_state(rt, session, plan)


def _lock_sip(session: Session, plan: AipPlan) -> None:
    """Serialize the last steps of an AIP's copies on its SIP row.

    Two workers finishing the last two copies at once would each see only its own new
    replica among the committed ones, and neither would find the policy met: the SIP would
    stay STORED for good. Whoever locks second reads the first's replica once it commits."""
    session.execute(select(Sip.id).where(Sip.id == plan.sip_id).with_for_update())


def copy_to_target(rt: Runtime, plan: AipPlan, target: str) -> None:
    source, expected = _checked_source(rt, plan, exclude=target)
    _copy(rt, plan, target, source, expected)


def _checked_source(
    rt: Runtime, plan: AipPlan, exclude: str | None
) -> tuple[BagSource, dict[str, str]]:
    """A source for the bag whose signature verifies, and the digest every file must have."""
    source, tagmanifest, signature = _good_source(rt, plan, exclude=exclude)
    verify(signature, tagmanifest, rt.trusted_keys())
    return source, expected_digests(plan.payload_sha256, tagmanifest, plan.tagmanifest_sha256)


def _copy(
    rt: Runtime, plan: AipPlan, target: str, source: BagSource, expected: dict[str, str]
) -> None:
    store = rt.store(plan.profile_ref, target)
    config = rt.profile(plan.profile_ref).target(target)
    copy_bag(
        source,
        store,
        plan.aip_id,
        expected,
        list(bagit.UNRECORDED),
        sizes={f"data/{p}": n for p, n in plan.payload_size.items()},
        pacer=pacer_for(target, config.max_write_mbps),
    )


def _good_source(rt: Runtime, plan: AipPlan, exclude: str | None):
    """The staged bag while it exists, else a verified replica on another target."""
    staged = bag_dir(rt.settings.staging_dir, plan.sip_id)
    if (staged / bagit.SIGNATURE).exists():
        source = DirectorySource(staged)
        return source, _read(source, bagit.TAGMANIFEST), _read_sig(source)
    with rt.sessions.begin() as session:
        candidates = sorted(verified_targets(session, plan.aip_id) - {exclude})
    errors = []
    for name in candidates:
        store = rt.store(plan.profile_ref, name)
        try:
            tagmanifest = read_bytes(store, aip_key(plan.aip_id, bagit.TAGMANIFEST))
            signature = Signature.from_json(
                read_bytes(store, aip_key(plan.aip_id, bagit.SIGNATURE))
            )
        except (StorageError, IntegrityError) as exc:
            errors.append(str(exc))
            continue
        return StoreSource(store, plan.aip_id), tagmanifest, signature
    raise SourceUnavailable(
        f"no readable source for AIP {plan.aip_id}: {'; '.join(errors) or 'none'}"
    )


def _read(source: DirectorySource, relpath: str) -> bytes:
    with source.open(relpath) as f:
        return f.read()


def _read_sig(source: DirectorySource) -> Signature:
    return Signature.from_json(_read(source, bagit.SIGNATURE))


def _ensure_replica(session: Session, aip_id: str, target: str) -> Replica:
    replica = get_replica(session, aip_id, target)
    if replica is None:
        replica = Replica(aip_id=aip_id, target=target, state=ReplicaState.PENDING)
        session.add(replica)
        session.flush()
    return replica


def _record_failed_copy(session: Session, plan: AipPlan, target: str, detail: str) -> None:
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


def mark_verified(rt: Runtime, session: Session, plan: AipPlan, target: str) -> None:
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
        detail=f"copy on {target} verified by {_proof(rt, plan, target)}",
    )


def _proof(rt: Runtime, plan: AipPlan, target: str) -> str:
    store = rt.store(plan.profile_ref, target)
    if getattr(store, "verify_mode", "read-back") == "checksum":
        return "the server's SHA-256 checksums of the bytes sent"
    return "read-back"


def update_preservation_state(rt: Runtime, session: Session, plan: AipPlan) -> None:
    """PRESERVED exactly when the policy holds over verified replicas."""
    profile = rt.profile(plan.profile_ref)
    verified = verified_targets(session, plan.aip_id)
    sip = session.get(Sip, plan.sip_id)
    if sip is None:
        return
    if profile.policy_holds(verified) and sip.state in (SipState.VALIDATED, SipState.STORED):
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
    if {t.name for t in profile.targets} <= verified:
        after_commit(session, lambda: discard(rt.settings.staging_dir, plan.sip_id))
