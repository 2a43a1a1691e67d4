"""Copying an AIP's bag to a store and proving the copy.

A copy is believed only after every object has been proven (docs/architecture.md, principle 6):
read back from the target and hashed here, against the catalogue's sha256 for payload files, the
signed tag manifest for tag files, and the digest recorded at signing for the tag manifest. A
target whose objects cannot be read back (an archive storage class) is proven instead by the
server's checksum of the stored object matching the digest of the bytes we sent
(:class:`~preserve.storage.base.Checksumming`, ``verify_mode = "checksum"``).

Re-running a copy is safe: one listing shows what the target holds already; objects present
with the right digest are kept, wrong ones replaced, so a retried job never leaves duplicates
or half-written bags behind. Files go in the order of :func:`bagit.store_order`, the signature
last, so a bag whose signature is present was written whole. On a filesystem target each file
is fsynced as it is written, and the names of a group of files (payload, tag files, tag
manifests, signature) are made durable together, one fsync per directory, before the next group
is written and before the copy returns: a name never outlives a crash that an earlier group's
name did not, and nothing is recorded before every name is durable. Within the payload and the tag
files, small files are copied several at a time; large ones one after another, each already
spread over parallel parts by the store, so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key, aip_prefix
from preserve.digests import hash_stream
from preserve.errors import IntegrityError
from preserve.storage.base import (
    Multipart,
    ObjectCorrupt,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    RecordLocking,
    SourceUnavailable,
    StorageError,
    Store,
    proves_by_checksum,
)
from preserve.storage.throttle import Pacer

SMALL_FILE = 8 * 1024 * 1024
_PACED_READ = 256 * 1024


class BagSource(Protocol):
    def open(self, relpath: str) -> AbstractContextManager[BinaryIO]: ...


@dataclass(frozen=True)
class DirectorySource:
    root: object

    def open(self, relpath: str):
        return open(Path(str(self.root)).joinpath(*relpath.split("/")), "rb")


@dataclass(frozen=True)
class StoreSource:
    store: Store
    aip_id: str

    def open(self, relpath: str):
        return self.store.open(aip_key(self.aip_id, relpath))


def expected_digests(
    payload_sha256: dict[str, str], tagmanifest: bytes, tagmanifest_sha256: str
) -> dict[str, str]:
    """Every bag file (but the signature) and the sha256 it must have."""
    if hashlib.sha256(tagmanifest).hexdigest() != tagmanifest_sha256:
        raise IntegrityError("the tag manifest differs from the one that was signed")
    expected = {f"data/{p}": d for p, d in payload_sha256.items()}
    expected.update(bagit.parse_manifest(tagmanifest))
    expected[bagit.TAGMANIFEST] = tagmanifest_sha256
    return expected


@dataclass
class _Copy:
    source: BagSource
    store: Store
    aip_id: str
    expected: dict[str, str]
    sizes: dict[str, int]
    pacer: Pacer | None
    progress: Callable[[int], None] | None
    present: set[str] = field(default_factory=set)
    retain_until: datetime | None = None

    def put(self, key: str, stream: BinaryIO, *, overwrite: bool = False) -> ObjectInfo:
        """Locked until the record's retention ends where the store can say so; on a store
        that can defer making names durable (a filesystem target), the name is made durable
        with the rest of its group (:func:`_sync_names`)."""
        if self.retain_until is not None and isinstance(self.store, RecordLocking):
            return self.store.put_until(key, stream, self.retain_until, overwrite=overwrite)
        put_unsynced = getattr(self.store, "put_unsynced", None)
        if put_unsynced is not None and getattr(self.store, "sync_names", None) is not None:
            return put_unsynced(key, stream, overwrite=overwrite)
        return self.store.put(key, stream, overwrite=overwrite)

    @contextmanager
    def open_source(self, relpath: str) -> Iterator[BinaryIO]:
        try:
            stream = self.source.open(relpath)
        except ObjectCorrupt as exc:
            raise IntegrityError(f"the copy's source of {relpath} is corrupt: {exc}") from exc
        except (StorageError, OSError) as exc:
            raise SourceUnavailable(f"cannot read {relpath} from the copy's source: {exc}") from exc
        with stream:
            yield _SourceStream(stream, relpath, self.pacer)  # type: ignore[misc]


def copy_bag(
    source: BagSource,
    store: Store,
    aip_id: str,
    expected: dict[str, str],
    extra: list[str],
    progress: Callable[[int], None] | None = None,
    *,
    sizes: dict[str, int] | None = None,
    pacer: Pacer | None = None,
    concurrency: int | None = None,
    retain_until: datetime | None = None,
) -> None:
    """Write every file of the bag to ``store``, each proven before the next group starts.

    ``extra`` files (the signature, the sha512 tag manifest) have no digest on record; each is
    hashed at the source and its copy must match that. ``sizes`` (bag path → bytes) tells
    small files from large ones; a file of unknown size counts as large unless it is a tag
    file."""
    job = _Copy(source, store, aip_id, dict(expected), dict(sizes or {}), pacer, progress)
    job.retain_until = retain_until
    for relpath in extra:
        with job.open_source(relpath) as stream:
            job.expected[relpath] = hash_stream(stream, ("sha256",))[0]["sha256"]
    job.present = set(store.list(aip_prefix(aip_id)))
    workers = concurrency or (store.max_concurrency if isinstance(store, Multipart) else 4)
    for group in _groups(bagit.store_order(job.expected)):
        small = [p for p in group if _is_small(job, p)]
        for relpath in group:
            if relpath not in small:
                _copy_one(job, relpath)
        _copy_many(job, small, workers)
        _sync_names(job, group)  # a group's names are durable before the next group is written


def _groups(ordered: list[str]) -> list[list[str]]:
    """Payload, then tag files, then tag manifests, then the signature."""

    def rank(p: str) -> int:
        if p.startswith("data/"):
            return 0
        if p == bagit.SIGNATURE:
            return 3
        return 2 if p.startswith("tagmanifest-") else 1

    groups: dict[int, list[str]] = {}
    for relpath in ordered:
        groups.setdefault(rank(relpath), []).append(relpath)
    return [groups[r] for r in sorted(groups)]


def _is_small(job: _Copy, relpath: str) -> bool:
    size = job.sizes.get(relpath)
    if size is None:
        return not relpath.startswith("data/")
    part = job.store.part_size if isinstance(job.store, Multipart) else SMALL_FILE
    return size < part


def _copy_many(job: _Copy, relpaths: list[str], workers: int) -> None:
    if workers <= 1 or len(relpaths) <= 1:
        for relpath in relpaths:
            _copy_one(job, relpath)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="copy") as pool:
        futures = [pool.submit(_copy_one, job, relpath) for relpath in relpaths]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            pool.shutdown(cancel_futures=True)
            raise failed[0].exception()  # type: ignore[misc]


def _sync_names(job: _Copy, relpaths: list[str]) -> None:
    """Every name of the group, written now or found present (a failed earlier run may have
    left it with its name not yet durable)."""
    sync_names = getattr(job.store, "sync_names", None)
    if sync_names is not None and relpaths:
        sync_names([aip_key(job.aip_id, relpath) for relpath in relpaths])


def _copy_one(job: _Copy, relpath: str) -> None:
    key = aip_key(job.aip_id, relpath)
    want = job.expected[relpath]
    if key in job.present and _holds(job, key, relpath, want):
        return
    with job.open_source(relpath) as stream:
        try:
            info = job.put(key, stream)
        except ObjectExists:
            info = None
    if info is None:
        with job.open_source(relpath) as again:
            info = job.put(key, again, overwrite=True)
    _prove(job.store, key, want, info)
    if job.progress is not None:
        job.progress(info.size)


def _holds(job: _Copy, key: str, relpath: str, sha256: str) -> bool:
    """Whether the target already has the right bytes under ``key``."""
    if proves_by_checksum(job.store):
        return job.store.matches_sha256(key, sha256, lambda: job.open_source(relpath))
    try:
        with job.store.open(key) as stream:
            digests, _ = hash_stream(stream, ("sha256",))
    except (ObjectNotFound, ObjectCorrupt):
        return False
    return digests["sha256"] == sha256


def _prove(store: Store, key: str, sha256: str, info: ObjectInfo) -> None:
    if info.sha256 is not None and info.sha256 != sha256:
        raise IntegrityError(
            f"the source of {key} gave bytes with sha256 {info.sha256}, expected {sha256}"
        )
    if proves_by_checksum(store):
        if not (info.sha256 == sha256 and info.checksum_confirmed):
            raise IntegrityError(
                f"{store.name}: {key} cannot be read back and the server confirmed no "
                "checksum for it; the copy is not proven"
            )
        return
    try:
        with store.open(key) as stream:
            digests, _ = hash_stream(stream, ("sha256",))
    except ObjectCorrupt as exc:
        raise IntegrityError(f"read-back failed: {exc}") from exc
    if digests["sha256"] != sha256:
        raise IntegrityError(
            f"{store.name}: read-back of {key} gave sha256 {digests['sha256']}, expected {sha256}"
        )


class _SourceStream(io.RawIOBase):
    """The source as a store reads it: its errors become :class:`SourceUnavailable`, so a
    failing source is never taken for a failing target; reads are paced by the target's cap."""

    def __init__(self, stream: BinaryIO, relpath: str, pacer: Pacer | None) -> None:
        self._stream = stream
        self._relpath = relpath
        self._pacer = pacer

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        """The source file's descriptor, so a filesystem target can copy with the kernel; only
        when reads are not paced (the kernel's copy cannot be)."""
        fileno = getattr(self._stream, "fileno", None)
        if self._pacer is not None or fileno is None:
            raise io.UnsupportedOperation("fileno")
        return fileno()

    def seekable(self) -> bool:
        return self._pacer is None and self._stream.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        if self._pacer is not None:
            view = view[:_PACED_READ]
        try:
            readinto = getattr(self._stream, "readinto", None)
            if readinto is not None:
                n = readinto(view)
            else:
                data = self._stream.read(len(view))
                n = len(data)
                view[:n] = data
        except ObjectCorrupt as exc:
            raise IntegrityError(f"the copy's source of {self._relpath} is corrupt: {exc}") from exc
        except (StorageError, OSError) as exc:
            raise SourceUnavailable(
                f"cannot read {self._relpath} from the copy's source: {exc}"
            ) from exc
        if self._pacer is not None and n:
            self._pacer.take(n)
        return n or 0
