"""Honest health (issue 11, item 1): a target that lost everything it was trusted with.

A target whose root, bucket or prefix has vanished while the catalogue holds replicas proven
there is not "a fresh store the probe will create": :func:`vanished_targets` names it (one
directory test or one listing per target, nothing read), and :func:`count_lost` stops counting
its replicas as verified, so the state of every AIP that relied on it is settled again
(:func:`preserve.storage.preservation.settle`: PRESERVED -> AT_RISK where the policy no longer
holds). The edges raise the alert; ``/metrics`` counts those alerts per target.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from preserve.aip.layout import AIP_ROOT
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, Replica, ReplicaState
from preserve.errors import PreserveError
from preserve.storage.base import Store
from preserve.storage.preservation import settle
from preserve.storage.profiles import FilesystemTarget, S3Target, StorageProfile
from preserve.storage.stores import Stores

VANISHED_ALERT = "store-vanished"


def holds_aips(target: FilesystemTarget | S3Target, store: Store) -> bool:
    """Whether the target shows at least one AIP object (a filesystem root must exist)."""
    if isinstance(target, FilesystemTarget) and not Path(target.root).is_dir():
        return False
    return next(iter(store.list(f"{AIP_ROOT}/")), None) is not None


def vanished_problem(name: str, held: int) -> str:
    return (
        f"the catalogue counts {held} verified replicas on {name} but it holds no AIP: "
        "its root, bucket or prefix has lost its objects"
    )


def vanished_targets(
    profile: StorageProfile, open_store: Callable[[str], Store], held: Mapping[str, int]
) -> dict[str, str]:
    """Target name -> problem, for the targets of ``profile`` that held replicas and show no
    AIP now. A target that cannot be reached at all is an outage, not a vanished store."""
    found = {}
    for target in profile.targets:
        count = held.get(target.name, 0)
        if not count:
            continue
        try:
            if not holds_aips(target, open_store(target.name)):
                found[target.name] = vanished_problem(target.name, count)
        except PreserveError:
            continue
    return found


def count_lost(session: Session, stores: Stores, target: str, reason: str) -> list[str]:
    """The verified replicas on ``target`` are failed (their objects are gone); each AIP's
    state is settled again. The AIP ids whose replica was failed now."""
    rows = session.execute(
        select(Replica, Aip)
        .join(Aip, Aip.id == Replica.aip_id)
        .where(Replica.target == target, Replica.state == ReplicaState.VERIFIED)
    ).all()
    for replica, aip in rows:
        replica.state = ReplicaState.FAILED
        record_event(
            session,
            EventType.REPLICATION,
            Outcome.FAILURE,
            object_type="aip",
            object_id=aip.id,
            agency_id=aip.agency_id,
            target=target,
            detail=f"replica on {target} no longer counted: {reason}"[:2000],
        )
    session.flush()
    for _replica, aip in rows:
        settle(session, aip, stores.profile(aip.storage_profile), f"{target} vanished")
    return [aip.id for _replica, aip in rows]
