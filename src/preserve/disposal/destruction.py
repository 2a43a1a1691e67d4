"""Destruction, proved: plan in one transaction, empty each target with none open, record
each target's proof in its own; the record is destroyed only when every target is empty.

A target that is down raises a :class:`~preserve.errors.StorageError` (retryable): the job
waits and runs again, and what was proven before is kept, so it never ends half-done. A target
that refuses (an Object Lock the server enforces) raises :class:`DestructionRefused`: the
decision carries the refusal, an alert is raised, and the batch stays ``destroying``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from preserve.aip.layout import aip_prefix
from preserve.catalog.disposal_models import AppraisalDecision
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, Alert
from preserve.catalog.types import utcnow
from preserve.disposal import repository as repo
from preserve.disposal import tombstones
from preserve.errors import ConfigurationError, DestructionRefused
from preserve.storage.base import Destroyable, Store


@dataclass
class Item:
    decision_id: int
    aip_id: str
    sip_id: str
    profile: str
    targets: list[str]
    done: set[str] = field(default_factory=set)


@dataclass
class Plan:
    appraisal_id: str
    items: list[Item]


def plan(session: Session, appraisal_id: str) -> Plan | None:
    batch = repo.get_appraisal(session, appraisal_id, lock=True)
    if batch.state not in ("approved", "destroying"):
        return None
    batch.state = "destroying"
    todo = [d for d in batch.decisions if d.outcome in ("destroying", "refused") and d.targets]
    aips = repo.aips_by_id(session, [d.aip_id for d in todo])
    items = []
    for d in todo:
        aip = aips.get(d.aip_id)
        if aip is None:
            continue
        items.append(
            Item(d.id, aip.id, aip.sip_id, aip.storage_profile, list(d.targets), set(d.deletions))
        )
    return Plan(batch.id, items)


def empty_target(store: Store, aip_id: str, *, lawful: bool) -> str:
    """Delete everything of the AIP on ``store`` and list to prove nothing is left; the time
    of the proof. ``lawful`` (an approved destruction) may lift a governance-mode lock."""
    if not isinstance(store, Destroyable):
        raise ConfigurationError(f"{store.name}: this store cannot destroy (no Destroyable)")
    prefix = aip_prefix(aip_id)
    store.destroy(prefix, bypass_governance=lawful)
    left = store.remnants(prefix)
    if left:
        raise DestructionRefused(
            f"{store.name}: {len(left)} object(s) of {aip_id} remain after deletion, "
            f"first {left[0]}"
        )
    return utcnow().isoformat()


def record_target(session: Session, item: Item, target: str, when: str) -> None:
    d = session.get(AppraisalDecision, item.decision_id)
    assert d is not None
    d.deletions = {**d.deletions, target: when}
    d.problem = None
    if d.outcome == "refused":
        d.outcome = "destroying"
    record_event(
        session,
        EventType.DELETION,
        Outcome.SUCCESS,
        object_type="aip",
        object_id=item.aip_id,
        detail=f"appraisal {d.appraisal_id}: every object and version removed; listing empty",
        agency_id=d.agency_id,
        target=target,
    )


def record_refusal(session: Session, item: Item, target: str, message: str) -> None:
    d = session.get(AppraisalDecision, item.decision_id)
    assert d is not None
    d.outcome, d.problem = "refused", message
    session.add(
        Alert(
            severity="critical",
            kind="destruction-refused",
            aip_id=item.aip_id,
            target=target,
            detail=message,
        )
    )
    record_event(
        session,
        EventType.DELETION,
        Outcome.FAILURE,
        object_type="aip",
        object_id=item.aip_id,
        detail=message,
        agency_id=d.agency_id,
        target=target,
    )


def tombstone_for(session: Session, item: Item, key) -> dict:
    """The signed tombstone, built once every target is proven empty."""
    d = session.get(AppraisalDecision, item.decision_id)
    aip = session.get(Aip, item.aip_id)
    assert d is not None and aip is not None
    return tombstones.signed(key, tombstones.build(aip, d, d.appraisal))


def finish_record(session: Session, item: Item, envelope: dict) -> None:
    """The record leaves the catalogue; its tombstone stays."""
    d = session.get(AppraisalDecision, item.decision_id)
    aip = session.get(Aip, item.aip_id)
    assert d is not None
    d.outcome = "destroyed"
    tombstones.add_row(session, envelope)
    if aip is not None:
        session.delete(aip)
    record_event(
        session,
        EventType.DEACCESSION if d.decision == "deaccession" else EventType.DELETION,
        Outcome.SUCCESS,
        object_type="aip",
        object_id=item.aip_id,
        detail=f"appraisal {d.appraisal_id}: destroyed on {', '.join(sorted(d.deletions))}",
        agency_id=d.agency_id,
    )


def finish_batch(session: Session, appraisal_id: str) -> bool:
    batch = repo.get_appraisal(session, appraisal_id, lock=True)
    if any(d.outcome in ("destroying", "refused") for d in batch.decisions):
        return False
    batch.state = "done"
    batch.finished_at = utcnow()
    return True


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)
