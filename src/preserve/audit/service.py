"""Auditing replicas: read every byte back from the store, hash it here, compare.

Per replica: the signature over the tag manifest must verify with one of the archive's keys;
the tag manifest must be the one that was signed (its sha256 is in the catalogue); every tag
file must match the tag manifest; every payload file must match both the digest recorded at
ingest and the bag's own manifest. Each check is a PREMIS ``fixity check`` event.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Aip, Replica
from preserve.catalog.repository import get_aip, get_replica, list_aips
from preserve.catalog.types import utcnow
from preserve.digests import hash_stream
from preserve.errors import IntegrityError
from preserve.ingest import bag as bagit
from preserve.runtime import Runtime
from preserve.storage.base import ObjectNotFound, StorageError, Store, read_bytes
from preserve.storage.layout import aip_key
from preserve.trust.signing import Signature, verify


class AuditOutcome(enum.StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    SIGNATURE_INVALID = "signature-invalid"


@dataclass(frozen=True)
class FileProblem:
    path: str
    outcome: AuditOutcome
    detail: str


@dataclass
class ReplicaAudit:
    aip_id: str
    target: str
    files_checked: int = 0
    bytes_read: int = 0
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def outcome(self) -> AuditOutcome:
        if not self.problems:
            return AuditOutcome.OK
        order = list(AuditOutcome)
        return max((p.outcome for p in self.problems), key=order.index)


def audit_replica(
    store: Store,
    aip: Aip,
    trusted: dict,
    progress: Callable[[int], None] | None = None,
) -> ReplicaAudit:
    result = ReplicaAudit(aip.id, store.name)
    manifest = _check_tags(store, aip, trusted, result)
    for f in aip.files:
        relpath = f"data/{f.path}"
        digest = _hash_object(store, aip.id, relpath, result)
        if progress is not None:
            progress(f.size)
        if digest is None:
            continue
        result.files_checked += 1
        if digest != f.sha256:
            result.problems.append(
                FileProblem(f.path, AuditOutcome.MISMATCH, f"sha256 {digest}, expected {f.sha256}")
            )
        elif manifest is not None and manifest.get(relpath) != f.sha256:
            result.problems.append(
                FileProblem(f.path, AuditOutcome.MISMATCH, "bag manifest disagrees with catalogue")
            )
    return result


def _check_tags(store: Store, aip: Aip, trusted: dict, result: ReplicaAudit) -> dict | None:
    """Verify signature and tag files; return the payload manifest when it can be trusted."""
    try:
        tagmanifest = read_bytes(store, aip_key(aip.id, bagit.TAGMANIFEST))
        signature = Signature.from_json(read_bytes(store, aip_key(aip.id, bagit.SIGNATURE)))
        verify(signature, tagmanifest, trusted)
    except ObjectNotFound as exc:
        result.problems.append(FileProblem(bagit.SIGNATURE, AuditOutcome.MISSING, str(exc)))
        return None
    except StorageError as exc:
        result.problems.append(FileProblem(bagit.TAGMANIFEST, AuditOutcome.UNREADABLE, str(exc)))
        return None
    except IntegrityError as exc:
        result.problems.append(
            FileProblem(bagit.TAGMANIFEST, AuditOutcome.SIGNATURE_INVALID, str(exc))
        )
        return None
    if hashlib.sha256(tagmanifest).hexdigest() != aip.tagmanifest_sha256:
        result.problems.append(
            FileProblem(
                bagit.TAGMANIFEST,
                AuditOutcome.SIGNATURE_INVALID,
                "tag manifest validly signed but not the one recorded at ingest",
            )
        )
    manifest = None
    for relpath, want in bagit.parse_manifest(tagmanifest).items():
        digest = _hash_object(store, aip.id, relpath, result)
        if digest is not None and digest != want:
            result.problems.append(
                FileProblem(relpath, AuditOutcome.MISMATCH, f"sha256 {digest}, expected {want}")
            )
        elif digest is not None and relpath == "manifest-sha256.txt":
            manifest = bagit.parse_manifest(read_bytes(store, aip_key(aip.id, relpath)))
    return manifest


def _hash_object(store: Store, aip_id: str, relpath: str, result: ReplicaAudit) -> str | None:
    try:
        with store.open(aip_key(aip_id, relpath)) as stream:
            digests, size = hash_stream(stream, ("sha256",))
    except ObjectNotFound:
        result.problems.append(FileProblem(relpath, AuditOutcome.MISSING, "object is missing"))
        return None
    except StorageError as exc:
        result.problems.append(FileProblem(relpath, AuditOutcome.UNREADABLE, str(exc)))
        return None
    result.bytes_read += size
    return digests["sha256"]


def record_audit(session: Session, aip: Aip, audit: ReplicaAudit) -> None:
    replica: Replica | None = get_replica(session, aip.id, audit.target)
    if replica is not None:
        replica.last_audit_at = utcnow()
        replica.last_audit_outcome = audit.outcome.value
    detail = f"{audit.files_checked} files, {audit.bytes_read} bytes read"
    if audit.problems:
        detail += "; " + "; ".join(
            f"{p.path}: {p.outcome.value} ({p.detail})" for p in audit.problems[:50]
        )
    record_event(
        session,
        EventType.FIXITY_CHECK,
        Outcome.SUCCESS if audit.outcome == AuditOutcome.OK else Outcome.FAILURE,
        object_type="aip",
        object_id=aip.id,
        agency_id=aip.agency_id,
        target=audit.target,
        detail=detail,
    )


def audit_all(
    rt: Runtime,
    aip_ids: list[str] | None = None,
    target: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ReplicaAudit]:
    """Audit every replica (of the given AIPs, on the given target) and record the events.

    Each replica is read outside any transaction and its outcome recorded in a short one, so
    a long audit never holds the database's write lock.
    """
    results: list[ReplicaAudit] = []
    trusted = rt.trusted_keys()
    with rt.sessions.begin() as session:
        ids = aip_ids or [a.id for a in list_aips(session)]
    for aip_id in ids:
        with rt.sessions.begin() as session:
            aip = get_aip(session, aip_id)
            session.expunge_all()
        for replica in aip.replicas:
            if target and replica.target != target:
                continue
            store = rt.store(aip.storage_profile, replica.target)
            audit = audit_replica(store, aip, trusted, progress)
            with rt.sessions.begin() as session:
                record_audit(session, aip, audit)
            results.append(audit)
    return results


def bytes_to_audit(rt: Runtime, aip_ids: list[str] | None, target: str | None) -> int:
    """Total bytes an :func:`audit_all` call will read (for a progress bar)."""
    with rt.sessions.begin() as session:
        aips = [get_aip(session, a) for a in aip_ids] if aip_ids else list(list_aips(session))
        return sum(
            aip.total_bytes
            for aip in aips
            for r in aip.replicas
            if not target or r.target == target
        )
