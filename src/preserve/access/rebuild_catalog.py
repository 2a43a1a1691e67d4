"""Rebuilding the catalogue from the AIPs of one store (docs/architecture.md principle 1).

Every bag under ``aips/`` is verified (signature, tag manifest, every tag file, payload sizes;
with ``deep`` every payload byte) and becomes an agency (by name), a SIP, an AIP, its files with
their formats, and the events the bag carries, under their original ids and times. The other
targets of the AIP's profile are probed (signed tag manifest present, every object of the right
size; with ``deep`` every payload byte re-hashed too): a whole copy is a verified replica, a
missing or damaged one is queued for replication, so the policy state comes back from facts, not
from memory: PRESERVED where the policy holds over the whole copies found, else AT_RISK (the
stores hold the AIP but fewer copies than its policy asks; the queued copies bring it back).
Each AIP is committed alone, so an interrupted rebuild resumes (``resume``) where it stopped:
the edge (``preserve catalog rebuild``) drives :func:`known_aips`, then per bag
:func:`read_one` with no transaction open and :func:`catalogue_bag` in a transaction of its own.

What no bag carries is reported as lost, never invented (:data:`LOST`); a value that is only
approximated from the bag is reported as such.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from preserve.access.bag_reader import BagFacts, check_payload, read_bag
from preserve.access.repository import aip_ids, first_nonempty_table
from preserve.access.restore import read_bag_head
from preserve.access.sources import bag_objects, object_problems
from preserve.aip.layout import AIP_ROOT, parse_aip_key
from preserve.aip.metadata import CREATED_KEY, event_time
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, File, Replica, ReplicaState, Sip, SipState
from preserve.catalog.types import utcnow
from preserve.errors import Conflict, PreserveError
from preserve.storage.base import Store
from preserve.storage.service import queue_copy
from preserve.storage.stores import Stores
from preserve.trust.tokens import get_or_create_agency

LOST = {
    "tokens": "API tokens (only their hashes were kept, in the database): issue new ones",
    "agency profiles": "which storage profile each agency's new SIPs go to",
    "unpackaged SIPs": "SIPs received but not yet packaged, and rejected SIPs with their "
    "reasons: no bag carries them",
    "later events": "events after packaging (signature generation, replication, fixity "
    "checks, repairs, recoveries, access, administration): the bag is written once",
    "replica history": "when each copy was first verified and last audited "
    "(replicas.verified_at is the time of this rebuild, last audit empty)",
    "jobs": "queued and running background work (replication of missing copies is re-queued)",
    "SIP updated_at": "when each SIP last changed state (now the time of this rebuild)",
    "idempotency keys": "the Idempotency-Key each push was sent with: a retry of a push made "
    "before the rebuild is not recognised as a replay",
}


@dataclass
class CatalogRebuildReport:
    source: str
    profile: str
    aips_in_store: int = 0
    aips_catalogued: int = 0
    already_catalogued: int = 0
    agencies: int = 0
    files: int = 0
    events: int = 0
    replicas: dict[str, int] = field(default_factory=dict)
    replication_queued: int = 0
    destroyed: int = 0  # tombstones found: records destroyed by appraisal, not lost
    unverifiable: list[dict[str, str]] = field(default_factory=list)
    lost: dict[str, str] = field(default_factory=dict)
    approximated: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    agency_names: set[str] = field(default_factory=set, repr=False)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc.pop("agency_names")
        return doc


@dataclass(frozen=True)
class RebuildOptions:
    resume: bool = False
    probe: bool = True
    deep: bool = False
    trust_embedded_keys: bool = False


def aip_ids_in_store(store: Store) -> list[str]:
    """Every AIP id under ``aips/`` (one listing of the store)."""
    ids = set()
    for key in store.list(f"{AIP_ROOT}/"):
        parsed = parse_aip_key(key)
        if parsed is not None:
            ids.add(parsed[0])
    return sorted(ids)


def check_empty(session: Session) -> None:
    """The catalogue may hold agencies and tokens (made to run the rebuild), not records."""
    table = first_nonempty_table(session)
    if table is not None:
        raise Conflict(
            f"the catalogue already holds {table}: rebuild fills an empty "
            "database (use resume to continue an interrupted rebuild)"
        )


def known_aips(session: Session, options: RebuildOptions) -> set[str]:
    """The AIPs already catalogued (none unless ``options.resume``, else :class:`Conflict`)."""
    if not options.resume:
        check_empty(session)
    return aip_ids(session)


@dataclass(frozen=True)
class FoundBag:
    """One verified bag and, per target of its profile, whether that target holds it whole."""

    facts: BagFacts
    copies: dict[str, bool]


def read_one(
    stores: Stores, store: Store, aip_id: str, trusted: dict | None, options: RebuildOptions
) -> FoundBag:
    """Verify and read one bag and probe its other copies (stores only, no session)."""
    facts = read_bag(store, aip_id, trusted, deep=options.deep)
    copies = {store.name: True}
    if options.probe:
        copies.update(_probe_others(stores, facts, store.name, trusted, deep=options.deep))
    return FoundBag(facts, copies)


def count_unverifiable(report: CatalogRebuildReport, aip_id: str, exc: PreserveError) -> None:
    report.unverifiable.append({"aip_id": aip_id, "reason": str(exc)})


def count_catalogued(report: CatalogRebuildReport, found: FoundBag) -> None:
    facts = found.facts
    report.aips_catalogued += 1
    report.files += len(facts.files)
    report.events += len(facts.events)
    report.agency_names.add(facts.agency)
    report.agencies = len(report.agency_names)
    for target, whole in found.copies.items():
        report.replicas[target] = report.replicas.get(target, 0) + int(whole)
        report.replication_queued += int(not whole)
    if facts.created_at is None:
        report.approximated["AIP created_at"] = (
            f"the bags carry no {CREATED_KEY}; set to the time of the last event each bag "
            "carries, which precedes packaging by milliseconds"
        )


def _probe_others(
    stores: Stores, facts: BagFacts, source: str, trusted: dict | None, *, deep: bool = False
) -> dict[str, bool]:
    """target -> whether it holds a whole copy (signed tag manifest, every object's size;
    ``deep``: every payload byte re-hashed against the source bag's digests)."""
    try:
        targets = [t.name for t in stores.profile(facts.profile).targets if t.name != source]
    except PreserveError:
        return {}
    found = {}
    for target in targets:
        try:
            other = stores.store(facts.profile, target)
            head = read_bag_head(other, facts.aip_id, trusted, facts.tagmanifest_sha256)
            sizes = bag_objects(head.tag_sha256, {f.path: f.size for f in facts.files})
            found[target] = not object_problems(other, facts.aip_id, sizes)
            if deep and found[target]:
                check_payload(other, facts.aip_id, facts.files)
        except PreserveError:
            found[target] = False
    return found


def catalogue_bag(
    session: Session, stores: Stores, found: FoundBag, source: str, options: RebuildOptions
) -> None:
    """The bag's agency, SIP, AIP, files, events and replicas, in the caller's transaction."""
    facts, copies = found.facts, found.copies
    now = utcnow()
    agency = get_or_create_agency(session, facts.agency)
    verified = {t for t, whole in copies.items() if whole}
    state = _state(stores, facts.profile, verified)
    session.add(_sip(facts, agency.id, state, now))
    session.flush()
    session.add(_aip(facts, agency.id))
    session.flush()
    _restore_events(session, facts, agency.id)
    _replicas(session, facts.aip_id, copies, now)
    how = "every payload byte re-hashed" if options.deep else "payload sizes checked"
    record_event(
        session,
        EventType.RECOVERY,
        Outcome.SUCCESS,
        object_type="aip",
        object_id=facts.aip_id,
        agency_id=agency.id,
        target=source,
        detail=f"catalogue entry rebuilt from the bag on {source}: signature by key "
        f"{facts.key_id} and every tag file verified, {how}; whole copies on "
        f"{', '.join(sorted(verified))}",
        agent="catalog rebuild",
    )
    if state == SipState.AT_RISK:
        _record_at_risk(session, facts, agency.id, copies)


def _record_at_risk(
    session: Session, facts: BagFacts, agency_id: int, copies: dict[str, bool]
) -> None:
    """The warning :func:`preserve.storage.preservation.settle` records when a SIP goes
    AT_RISK, so the log says why a rebuilt AIP is not PRESERVED."""
    whole = ", ".join(sorted(t for t, ok in copies.items() if ok)) or "none"
    missing = ", ".join(sorted(t for t, ok in copies.items() if not ok))
    queued = f"; missing or damaged on {missing}, queued for replication" if missing else ""
    record_event(
        session,
        EventType.REPLICATION,
        Outcome.WARNING,
        object_type="aip",
        object_id=facts.aip_id,
        agency_id=agency_id,
        detail=f"AT RISK: the policy of profile {facts.profile} does not hold over the whole "
        f"copies the catalogue rebuild found ({whole}){queued}",
        agent="catalog rebuild",
    )


def _sip(facts: BagFacts, agency_id: int, state: SipState, now: datetime) -> Sip:
    return Sip(
        id=facts.sip_id,
        agency_id=agency_id,
        state=state,
        storage_profile=facts.profile,
        record_metadata=facts.metadata,
        manifest=[
            {"path": f.path, "size": f.size, "sha256": f.sha256, "sha512": f.sha512}
            for f in facts.files
        ],
        reasons=[],
        file_count=len(facts.files),
        total_bytes=facts.total_bytes,
        aip_id=facts.aip_id,
        received_at=facts.received_at,
        updated_at=now,
        **_carried(facts),
    )


def _replicas(session: Session, aip_id: str, copies: dict[str, bool], now: datetime) -> None:
    """Whole copies are verified replicas; a missing one is a pending replica with its job."""
    for target, whole in sorted(copies.items()):
        if whole:
            session.add(
                Replica(aip_id=aip_id, target=target, state=ReplicaState.VERIFIED, verified_at=now)
            )
        else:
            queue_copy(session, aip_id, target)


def _carried(facts: BagFacts) -> dict:
    """SIP columns the bag carries when it was written by a version that kept them."""
    values = {"source": facts.source, "receipt": facts.receipt, "check_report": facts.checks}
    columns = Sip.__table__.columns
    return {k: v for k, v in values.items() if v is not None and k in columns}


def _aip(facts: BagFacts, agency_id: int) -> Aip:
    aip = Aip(
        id=facts.aip_id,
        sip_id=facts.sip_id,
        agency_id=agency_id,
        storage_profile=facts.profile,
        title=facts.metadata.get("title", ""),
        archival_code=facts.metadata.get("archival_code", ""),
        record_metadata=facts.metadata,
        file_count=len(facts.files),
        total_bytes=facts.total_bytes,
        signing_key_id=facts.key_id,
        tagmanifest_sha256=facts.tagmanifest_sha256,
        created_at=facts.created_at or _last_event_time(facts),
    )
    for f in facts.files:
        aip.files.append(File(**f.to_dict()))
    return aip


def _last_event_time(facts: BagFacts) -> datetime:
    times = [t for t in (event_time(e) for e in facts.events) if t is not None]
    return max(times, default=facts.received_at)


def _restore_events(session: Session, facts: BagFacts, agency_id: int) -> None:
    """The bag's events under their own ids and times; they join the log as they are added."""
    for doc in facts.events:
        when = event_time(doc)
        event = record_event(
            session,
            EventType.INGESTION,  # replaced below by the recorded type
            Outcome.SUCCESS,
            object_type=str(doc.get("object_type") or "sip"),
            object_id=str(doc.get("object_id") or facts.sip_id),
            detail=str(doc.get("detail") or ""),
            agent=str(doc.get("agent") or "preserve"),
            agency_id=agency_id,
            target=doc.get("target"),
        )
        event.type = str(doc.get("type") or "unknown")
        event.outcome = str(doc.get("outcome") or "unknown")
        if doc.get("id"):
            event.uuid = str(doc["id"])
        if when is not None:
            event.created_at = when


def _state(stores: Stores, profile_ref: str, verified: set[str]) -> SipState:
    try:
        holds = stores.profile(profile_ref).policy_holds(verified)
    except PreserveError:
        holds = False
    return SipState.PRESERVED if holds else SipState.AT_RISK
