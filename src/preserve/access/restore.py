"""Restoring an AIP's payload from one store to a directory, verified before it is declared.

The payload is written under a hidden sibling directory and renamed into place only after the
signature, the tag manifest and every file's digest have verified, so a failed restore never
leaves output that looks complete. The bag's own signed manifests are the reference (a restore
works without the catalogue); when the catalogue's digests are given they must agree too.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key
from preserve.aip.paths import safe_relative_path
from preserve.digests import CHUNK, MultiHasher
from preserve.errors import Conflict, IntegrityError, InvalidInput
from preserve.storage.base import Store, read_bytes
from preserve.trust.guomi import check_restored, read_sm3_manifest
from preserve.trust.signing import Signature, verify


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
    """The signed part of a bag: tag manifest, signature, tag digests and payload digests."""

    tagmanifest: bytes
    signature: Signature
    tag_sha256: dict[str, str]
    payload: dict[str, str]


def read_bag_head(
    store: Store, aip_id: str, trusted: dict | None, tagmanifest_sha256: str | None = None
) -> BagHead:
    """Read and prove the tag manifest, signature and payload manifest of a stored bag.

    ``trusted=None`` verifies against the public key embedded in the signature document (only
    for rebuilding a catalogue when the archive's key directory was lost too).
    """
    tagmanifest = read_bytes(store, aip_key(aip_id, bagit.TAGMANIFEST))
    signature = Signature.from_json(read_bytes(store, aip_key(aip_id, bagit.SIGNATURE)))
    verify(signature, tagmanifest, trusted)
    if tagmanifest_sha256 and hashlib.sha256(tagmanifest).hexdigest() != tagmanifest_sha256:
        raise IntegrityError("the tag manifest is not the one recorded at ingest")
    tag_sha256 = _parse(tagmanifest, bagit.TAGMANIFEST)
    manifest_bytes = read_bytes(store, aip_key(aip_id, "manifest-sha256.txt"))
    if tag_sha256.get("manifest-sha256.txt") != hashlib.sha256(manifest_bytes).hexdigest():
        raise IntegrityError("manifest-sha256.txt does not match the signed tag manifest")
    payload = {}
    for path, digest in _parse(manifest_bytes, "manifest-sha256.txt").items():
        if not path.startswith("data/"):
            raise IntegrityError(f"manifest entry {path!r} is outside data/")
        try:
            payload[safe_relative_path(path.removeprefix("data/"))] = digest
        except InvalidInput as exc:
            raise IntegrityError(f"manifest-sha256.txt: {exc}") from None
    return BagHead(tagmanifest, signature, tag_sha256, payload)


def _parse(data: bytes, name: str) -> dict[str, str]:
    try:
        return bagit.parse_manifest(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{name} is malformed: {exc}") from None


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
    manifest = read_verified_manifest(store, aip_id, trusted, tagmanifest_sha256)
    sm3 = read_sm3_manifest(store, aip_id, trusted)  # 国密 bags only
    if catalogue is not None and catalogue != manifest.payload:
        raise IntegrityError("the bag's manifest and the catalogue disagree on the payload")
    chosen = {
        p: d for p, d in manifest.payload.items() if pattern is None or fnmatch.fnmatch(p, pattern)
    }
    if not chosen:
        raise Conflict(f"no file of AIP {aip_id} matches {pattern!r}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.parent / f".{destination.name}.partial-{uuid.uuid4().hex[:8]}"
    total = 0
    try:
        total = _restore_files(store, aip_id, chosen, partial, progress, workers)
        if sm3 is not None:
            check_restored(partial, chosen, sm3)
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
    chosen: dict[str, str],
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
    digest: str,
    root: Path,
    progress: Callable[[int], None] | None,
) -> int:
    out_path = root.joinpath(*path.split("/"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    hasher = MultiHasher(("sha256",))
    with store.open(aip_key(aip_id, f"data/{path}")) as src, open(out_path, "xb") as out:
        while chunk := src.read(CHUNK):
            hasher.update(chunk)
            out.write(chunk)
            if progress is not None:
                progress(len(chunk))
        out.flush()
        os.fsync(out.fileno())
    got = hasher.hexdigests()["sha256"]
    if got != digest:
        raise IntegrityError(f"{store.name}: data/{path} has sha256 {got}, expected {digest}")
    return hasher.size
