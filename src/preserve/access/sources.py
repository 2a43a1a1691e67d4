"""Choosing the copy an AIP is read from: the named target, or the nearest healthy one.

"Nearest" is the order of the targets in the AIP's storage profile: operators list the local,
cheapest target first and off-site and cold ones after, and placement already writes to the
first target that takes the AIP. Only targets whose replica the catalogue holds as verified are
candidates; those whose last audit failed go after the rest. A candidate is *healthy* when its
tag side passes the audit's own check (:func:`preserve.trust.bag_check.check_tags`: signature,
the tag manifest recorded at ingest, every tag manifest against every tag file), its payload
manifest agrees with the catalogue, and every object of the bag is present with the size on
record. Unhealthy candidates are skipped (with their reasons kept) before a byte is sent, so
a deleted or half-lost site never answers a download.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from preserve.access.restore import read_bag_head
from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.catalog.models import Aip, ReplicaState
from preserve.catalog.repository import get_aip
from preserve.errors import IntegrityError, InvalidInput, NoHealthySource, PreserveError
from preserve.storage.base import ObjectNotFound, StorageError, Store
from preserve.storage.stores import Stores
from preserve.trust.keyring import TrustedKeys
from preserve.trust.signing import Signature

AUDIT_OK = "ok"


@dataclass(frozen=True)
class FileFacts:
    size: int
    sha256: str
    sha512: str


@dataclass(frozen=True)
class AipRecord:
    """What the catalogue says about an AIP, detached from any session."""

    aip_id: str
    agency_id: int
    profile: str
    tagmanifest_sha256: str
    created_at: datetime
    total_bytes: int
    files: dict[str, FileFacts]
    replicas: dict[str, tuple[ReplicaState, str | None]]


def load_record(session: Session, aip_id: str, *, agency_id: int | None = None) -> AipRecord:
    return record_of(get_aip(session, aip_id, agency_id=agency_id))


def record_of(aip: Aip) -> AipRecord:
    """What serving an AIP's files needs to know of it, read from its catalogue row."""
    return AipRecord(
        aip_id=aip.id,
        agency_id=aip.agency_id,
        profile=aip.storage_profile,
        tagmanifest_sha256=aip.tagmanifest_sha256,
        created_at=aip.created_at,
        total_bytes=aip.total_bytes,
        files={f.path: FileFacts(f.size, f.sha256, f.sha512) for f in aip.files},
        replicas={r.target: (r.state, r.last_audit_outcome) for r in aip.replicas},
    )


@dataclass(frozen=True)
class Source:
    """One target's copy of an AIP whose signed manifests have been verified."""

    target: str
    store: Store
    tagmanifest: bytes
    signature: Signature
    tag_sha256: dict[str, str]
    payload_sha256: dict[str, str]
    tag_files: dict[str, bytes] = field(default_factory=dict)  # every tag file, checked


@dataclass
class Attempts:
    """Why each candidate was passed over, for the one-line error when none is left."""

    reasons: list[str] = field(default_factory=list)

    def add(self, target: str, exc: BaseException) -> None:
        self.reasons.append(f"{target}: {str(exc).removeprefix(f'{target}: ')}")

    def error(self, aip_id: str) -> NoHealthySource:
        detail = "; ".join(self.reasons) or "no verified replica on record"
        return NoHealthySource(f"no healthy copy of AIP {aip_id}: {detail}")


def candidate_targets(stores: Stores, record: AipRecord) -> list[str]:
    """Verified replicas in profile order, those whose last audit failed last."""
    order = [t.name for t in stores.profile(record.profile).targets]
    verified = [
        t for t in order if record.replicas.get(t, (None, None))[0] == ReplicaState.VERIFIED
    ]
    healthy = [t for t in verified if record.replicas[t][1] in (None, AUDIT_OK)]
    return healthy + [t for t in verified if t not in healthy]


def requested_or_candidates(stores: Stores, record: AipRecord, requested: str | None) -> list[str]:
    if requested is None:
        return candidate_targets(stores, record)
    if requested not in {t.name for t in stores.profile(record.profile).targets}:
        raise InvalidInput(f"profile {record.profile!r} has no target {requested!r}")
    return [requested]


def open_source(
    stores: Stores,
    trusted: TrustedKeys,
    record: AipRecord,
    target: str,
    *,
    check_objects: bool = True,
) -> Source:
    """Verify one target's copy of the AIP; raise the reason it cannot be used."""
    store = stores.store(record.profile, target)
    head = read_bag_head(store, record.aip_id, trusted, record.tagmanifest_sha256)
    if head.payload != {p: f.sha256 for p, f in record.files.items()}:
        raise IntegrityError(f"{target}: the bag's payload manifest disagrees with the catalogue")
    source = Source(
        target,
        store,
        head.tagmanifest,
        head.signature,
        head.tag_sha256,
        head.payload,
        head.tag_files,
    )
    if check_objects:
        sizes = bag_objects(head.tag_sha256, {p: f.size for p, f in record.files.items()})
        problems = object_problems(store, record.aip_id, sizes)
        if problems:
            raise ObjectNotFound(f"{target}: {_summary(problems)}")
    return source


def choose_source(
    stores: Stores, trusted: TrustedKeys, record: AipRecord, requested: str | None = None
) -> Source:
    """The requested target's copy, or the first healthy candidate."""
    attempts = Attempts()
    for target in requested_or_candidates(stores, record, requested):
        try:
            return open_source(stores, trusted, record, target)
        except PreserveError as exc:
            attempts.add(target, exc)
    raise attempts.error(record.aip_id)


def iter_sources(
    stores: Stores,
    trusted: TrustedKeys,
    record: AipRecord,
    requested: str | None,
    attempts: Attempts,
) -> Iterator[Source]:
    """Healthy sources one after another, for callers that fall back when a read fails."""
    for target in requested_or_candidates(stores, record, requested):
        try:
            yield open_source(stores, trusted, record, target)
        except PreserveError as exc:
            attempts.add(target, exc)


def bag_objects(tag_sha256: dict[str, str], payload_sizes: dict[str, int]) -> dict[str, int | None]:
    """Every object a whole bag holds, with its size where the catalogue knows it."""
    sizes: dict[str, int | None] = {f"data/{p}": size for p, size in payload_sizes.items()}
    sizes.update({name: None for name in tag_sha256})
    sizes.update({name: None for name in (bagit.TAGMANIFEST, *bagit.UNRECORDED)})
    return sizes


def object_problems(store: Store, aip_id: str, sizes: dict[str, int | None]) -> dict[str, str]:
    """relpath -> problem, for objects that are missing, unreadable or of the wrong size.

    One ``stat`` per object (a HEAD on S3), a few at a time: cheap next to reading the bytes.
    """

    def check(relpath: str) -> tuple[str, str | None]:
        try:
            info = store.stat(aip_key(aip_id, relpath))
        except ObjectNotFound:
            return relpath, "missing"
        except StorageError as exc:
            return relpath, f"unreadable ({exc})"
        want = sizes[relpath]
        if want is not None and info.size != want:
            return relpath, f"{info.size} bytes, expected {want}"
        return relpath, None

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="stat") as pool:
        results = list(pool.map(check, sorted(sizes)))
    return {path: problem for path, problem in results if problem is not None}


def _summary(problems: dict[str, str]) -> str:
    first = ", ".join(f"{p} {why}" for p, why in list(problems.items())[:3])
    more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
    return f"{len(problems)} object(s) not usable: {first}{more}"
