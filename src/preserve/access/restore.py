"""Restoring an AIP's payload from one store to a directory, verified before it is declared.

The payload is written under a hidden sibling directory and renamed into place only after the
signature, the tag manifest and every file's digest have verified, so a failed restore never
leaves output that looks complete. A large object on S3 comes in parallel ranged GETs, each
part written into place as it arrives and hashed in order (:mod:`preserve.storage.s3_ranged`).
The bag's own signed manifests are the reference (a restore works without the catalogue); when
the catalogue's digests are given they must agree too.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from preserve.aip.layout import aip_key
from preserve.digests import MultiHasher
from preserve.errors import Conflict, IntegrityError
from preserve.storage.base import Store, fetch_into
from preserve.trust.bag_check import check_tags
from preserve.trust.signing import Signature


@dataclass(frozen=True)
class RestoreResult:
    aip_id: str
    target: str
    destination: Path
    files: int
    bytes: int


@dataclass(frozen=True)
class VerifiedManifest:
    payload: dict[str, str]
    key_id: str


@dataclass(frozen=True)
class BagHead:
    """The checked tag side of a bag: tag manifest, signature, every tag file, payload digests."""

    tagmanifest: bytes
    signature: Signature
    tag_sha256: dict[str, str]
    payload: dict[str, str]
    tag_files: dict[str, bytes]
    payload_digests: dict[str, dict[str, str]]  # algorithm -> path -> digest (sha512, sm3 too)


def read_bag_head(
    store: Store, aip_id: str, trusted: dict | None, tagmanifest_sha256: str | None = None
) -> BagHead:
    """Read and prove the tag side of a stored bag with the check the audit makes
    (:func:`preserve.trust.bag_check.check_tags`): a copy the audit would fail for a tag file
    is never read from here either.

    ``trusted=None`` verifies against the public key embedded in the signature document (only
    for rebuilding a catalogue when the archive's key directory was lost too).
    """
    check = check_tags(store, aip_id, trusted, tagmanifest_sha256)
    check.raise_first()
    assert check.signature is not None
    return BagHead(
        check.tagmanifest,
        check.signature,
        check.tag_sha256,
        check.payload["sha256"],
        check.tag_files,
        check.payload,
    )


def read_verified_manifest(
    store: Store, aip_id: str, trusted: dict, tagmanifest_sha256: str | None = None
) -> VerifiedManifest:
    """The payload manifest (path under data/ -> sha256), proven by the signature chain."""
    head = read_bag_head(store, aip_id, trusted, tagmanifest_sha256)
    return VerifiedManifest(head.payload, head.signature.key_id)


def restore_aip(
    store: Store,
    aip_id: str,
    destination: Path,
    trusted: dict,
    *,
    catalogue: dict[str, str] | None = None,
    tagmanifest_sha256: str | None = None,
    pattern: str | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> RestoreResult:
    """``workers`` files are fetched at once: restores of many small files from S3 wait on
    request latency, not on bandwidth (``progress`` is then called from several threads)."""
    destination = destination.absolute()
    _check_destination(destination)
    head = read_bag_head(store, aip_id, trusted, tagmanifest_sha256)
    if catalogue is not None and catalogue != head.payload:
        raise IntegrityError("the bag's manifest and the catalogue disagree on the payload")
    chosen = {
        p: {alg: digests.get(p, "") for alg, digests in head.payload_digests.items()}
        for p in head.payload
        if pattern is None or fnmatch.fnmatch(p, pattern)
    }
    if not chosen:
        raise Conflict(f"no file of AIP {aip_id} matches {pattern!r}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.parent / f".{destination.name}.partial-{uuid.uuid4().hex[:8]}"
    total = 0
    try:
        total = _restore_files(store, aip_id, chosen, partial, progress, workers)
        if destination.exists():
            destination.rmdir()
        os.rename(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return RestoreResult(aip_id, store.name, destination, len(chosen), total)


def _restore_files(
    store: Store,
    aip_id: str,
    chosen: dict[str, dict[str, str]],
    root: Path,
    progress: Callable[[int], None] | None,
    workers: int,
) -> int:
    items = sorted(chosen.items())
    if workers <= 1 or len(items) < 2:
        return sum(_restore_file(store, aip_id, p, d, root, progress) for p, d in items)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="restore")
    try:
        futures = [
            pool.submit(_restore_file, store, aip_id, p, d, root, progress) for p, d in items
        ]
        return sum(f.result() for f in futures)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check_destination(destination: Path) -> None:
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise Conflict(f"{destination} exists and is not an empty directory")


def _restore_file(
    store: Store,
    aip_id: str,
    path: str,
    digests: dict[str, str],
    root: Path,
    progress: Callable[[int], None] | None,
) -> int:
    out_path = root.joinpath(*path.split("/"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    hasher = MultiHasher(digests)  # every payload manifest of the bag, in one pass

    def consume(part: bytes) -> None:
        hasher.update(part)
        if progress is not None:
            progress(len(part))

    with open(out_path, "xb") as out:
        fetch_into(store, aip_key(aip_id, f"data/{path}"), out.fileno(), consume)
        os.fsync(out.fileno())
    for algorithm, got in hasher.hexdigests().items():
        if got != digests[algorithm]:
            raise IntegrityError(
                f"{store.name}: data/{path} has {algorithm} {got}, expected {digests[algorithm]}"
            )
    return hasher.size
