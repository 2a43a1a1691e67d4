"""``preserve storage reconcile TARGET``: the target's listing against the catalogue.

Finds objects in the target that the catalogue does not know (an AIP it has no record of, or
a payload file that is not part of its AIP), and replicas the catalogue expects that are
missing: an AIP whose profile includes the target but whose payload, tag manifest or signature
is not all there, whether or not the catalogue believed it verified. Those copies are queued
again (with their replica back to pending, and a SIP that no longer meets its policy back to
AT_RISK); copies already queued or running are left to their job. On S3, multipart uploads
that a killed writer left unfinished are listed, and aborted when older than a given age.

One listing of the target, one pass over the catalogue (the style of Warehouse's
``reconcile_file_storages``); nothing is deleted from the target but stale upload parts.
The edge drives the steps, so the listing (minutes, on a large bucket) holds no transaction:
:func:`plan_reconcile` in one, :func:`list_target` with none, :func:`record_reconcile` in
another, then :func:`clear_stale_uploads`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from preserve.aip import bag as bagit
from preserve.aip.layout import AIP_ROOT, parse_aip_key
from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, ReplicaState
from preserve.catalog.repository import get_replica
from preserve.catalog.types import utcnow
from preserve.errors import ConfigurationError
from preserve.storage import kept_reports
from preserve.storage import repository as repo
from preserve.storage.base import Multipart
from preserve.storage.preservation import settle
from preserve.storage.service import queue_copy, target_resource
from preserve.storage.stores import Stores

_REQUIRED = (bagit.TAGMANIFEST, bagit.SIGNATURE)


@dataclass
class Missing:
    aip_id: str
    profile: str
    replica_state: str
    files_missing: int
    example: str
    requeued: bool = False


@dataclass
class ReconcileReport:
    target: str
    profiles: list[str]
    generated_at: str
    dry_run: bool
    objects_listed: int = 0
    aips_expected: int = 0
    aips_complete: int = 0
    unknown: list[str] = field(default_factory=list)
    other_objects: int = 0
    missing: list[Missing] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    stale_uploads: list[dict] = field(default_factory=list)
    temporary_objects: list[str] = field(default_factory=list)  # a killed writer's, removed
    unacknowledged_staging: list[str] = field(default_factory=list)  # no SIP row, removed
    debris_bytes: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def plan_reconcile(
    session: Session,
    stores: Stores,
    target: str,
    *,
    profile_ref: str | None = None,
    dry_run: bool = False,
) -> ReconcileReport:
    """The report to fill: which profiles (among those AIPs are placed under and the
    default, or only ``profile_ref``) have ``target``."""
    refs = _profiles_with(session, stores, target, profile_ref)
    return ReconcileReport(target, refs, utcnow().isoformat(), dry_run)


def list_target(stores: Stores, report: ReconcileReport) -> dict[str, set[str]]:
    """AIP id → paths inside its bag, from one listing of the target (no transaction)."""
    store = stores.store(report.profiles[0], report.target)
    return _listing(store.list(), report)


def record_reconcile(
    session: Session, stores: Stores, report: ReconcileReport, listed: dict[str, set[str]]
) -> None:
    """The listing against the catalogue; missing copies queued again unless a dry run."""
    expected = repo.aips_under(session, report.profiles)
    report.aips_expected = len(expected)
    _find_unknown(listed, expected, report)
    live = repo.aips_with_live_copy(session, target_resource(report.target))
    for aip_id, (ref, payload) in expected.items():
        _check_aip(session, stores, aip_id, ref, payload, listed, live, report)


def clear_stale_uploads(
    stores: Stores, report: ReconcileReport, older_than: timedelta | None
) -> None:
    """List unfinished multipart uploads; abort those older than ``older_than``."""
    store = stores.store(report.profiles[0], report.target)
    _stale_uploads(store, older_than, report.dry_run, report)


def _profiles_with(session: Session, stores: Stores, target: str, only: str | None) -> list[str]:
    """The profiles, among those AIPs are placed under and the default, that have ``target``."""
    if only is not None:
        refs = [only]
    else:
        refs = sorted(repo.profiles_in_use(session) | {stores.default_profile})
    found = [ref for ref in refs if target in {t.name for t in stores.profile(ref).targets}]
    if not found:
        raise ConfigurationError(f"no storage profile in use has a target {target!r}")
    return found


def _listing(keys: Iterable[str], report: ReconcileReport) -> dict[str, set[str]]:
    """AIP id → paths inside its bag, from one listing of the target."""
    listed: dict[str, set[str]] = {}
    for key in keys:
        report.objects_listed += 1
        parsed = parse_aip_key(key)
        if parsed is None:
            report.other_objects += 1
            continue
        listed.setdefault(parsed[0], set()).add(parsed[1])
    return listed


def _find_unknown(
    listed: dict[str, set[str]],
    expected: dict[str, tuple[str, set[str]]],
    report: ReconcileReport,
) -> None:
    for aip_id, paths in sorted(listed.items()):
        known = expected.get(aip_id)
        if known is None:
            report.unknown.extend(f"{aip_id}/{p}" for p in sorted(paths))
            continue
        stray = {p for p in paths if p.startswith("data/")} - known[1]
        report.unknown.extend(f"{aip_id}/{p}" for p in sorted(stray))


def _check_aip(
    session: Session,
    stores: Stores,
    aip_id: str,
    ref: str,
    payload: set[str],
    listed: dict[str, set[str]],
    live: set[str],
    report: ReconcileReport,
) -> None:
    target = report.target
    absent = sorted((payload | set(_REQUIRED)) - listed.get(aip_id, set()))
    if not absent:
        report.aips_complete += 1
        return
    if aip_id in live:
        report.in_progress.append(aip_id)
        return
    replica = get_replica(session, aip_id, target)
    state = replica.state.value if replica is not None else "none"
    entry = Missing(aip_id, ref, state, len(absent), absent[0])
    report.missing.append(entry)
    if report.dry_run:
        return
    if replica is not None:
        replica.state = ReplicaState.PENDING  # whatever was believed, the copy is not there
    queue_copy(session, aip_id, target)
    entry.requeued = True
    aip = session.get(Aip, aip_id)
    record_event(
        session,
        EventType.REPLICATION,
        Outcome.WARNING,
        object_type="aip",
        object_id=aip_id,
        agency_id=aip.agency_id if aip else None,
        target=target,
        detail=f"reconcile: {len(absent)} objects missing on {target} (e.g. {absent[0]}); "
        "copy queued again",
    )
    _demote(session, stores, aip, ref)


def _demote(session: Session, stores: Stores, aip: Aip | None, ref: str) -> None:
    """A SIP is PRESERVED only while its policy holds over verified replicas (else AT_RISK)."""
    if aip is None:
        return
    settle(session, aip, stores.profile(ref), "reconcile found objects missing")


def _stale_uploads(
    store: object, older_than: timedelta | None, dry_run: bool, report: ReconcileReport
) -> None:
    if not isinstance(store, Multipart):
        return
    now = utcnow()
    for upload in store.incomplete_uploads(f"{AIP_ROOT}/"):
        age = now - _aware(upload.initiated)
        abort = older_than is not None and age >= older_than and not dry_run
        if abort:
            store.abort_upload(upload.key, upload.upload_id)
        report.stale_uploads.append(
            {"key": upload.key, "initiated": upload.initiated.isoformat(), "aborted": abort}
        )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


KIND = "reconcile"
_EXAMPLES = 20


def keep_last(data_dir, target: str, report: ReconcileReport | None, error: str = "") -> None:
    """What the last reconcile of ``target`` found (or why it failed), for the ops console."""
    doc: dict = {"target": target, "finished_at": utcnow().isoformat(), "error": error[:500]}
    if report is None:
        doc["outcome"] = "failed"
    else:
        debris = len(report.temporary_objects) + len(report.unacknowledged_staging)
        found = report.unknown or report.missing
        doc.update(
            outcome="found" if found else "clean",
            started_at=report.generated_at,
            dry_run=report.dry_run,
            objects_listed=report.objects_listed,
            aips_expected=report.aips_expected,
            aips_complete=report.aips_complete,
            unknown=len(report.unknown),
            unknown_examples=report.unknown[:_EXAMPLES],
            missing=len(report.missing),
            missing_examples=[m.aip_id for m in report.missing[:_EXAMPLES]],
            requeued=sum(m.requeued for m in report.missing),
            in_progress=len(report.in_progress),
            stale_uploads=len(report.stale_uploads),
            debris=debris,
            debris_bytes=report.debris_bytes,
        )
    kept_reports.keep(data_dir, KIND, _file_name(target), doc)


def last_reconciles(data_dir) -> list[dict]:
    """The last reconcile of every target reconciled so far, by target."""
    found = [doc for _, doc in kept_reports.read_all(data_dir, KIND)]
    return sorted(found, key=lambda d: d.get("target", ""))


def _file_name(target: str) -> str:
    return "target-" + re.sub(r"[^A-Za-z0-9._-]", "_", target)[:150]
