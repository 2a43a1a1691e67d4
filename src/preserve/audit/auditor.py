"""Auditing replicas: read every byte back from the store, hash it here, compare.

Per replica, the whole bag (issue 11, item 5): the tag side as
:func:`preserve.trust.bag_check.check_tags` checks it for every reader of a copy (signature, the
recorded tag manifest, every tag manifest against every tag file, every payload manifest
well-formed and naming the same files); then every payload file, hashed once with every
algorithm the bag has a manifest for, must match the digest recorded at ingest and every one of
the bag's manifests. Recording an outcome is :mod:`preserve.audit.record`'s job.

The hot path reads 1 MiB at a time into a buffer reused per thread: hashlib releases the GIL on
large buffers, so ``workers`` threads hash that many files at once.
"""

from __future__ import annotations

import enum
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from preserve.aip.layout import aip_prefix
from preserve.catalog.models import Aip, File
from preserve.digests import MultiHasher
from preserve.storage.base import LocalDirectory, ObjectNotFound, StorageError, Store
from preserve.trust.bag_check import PAYLOAD_MANIFESTS, check_tags

_PROVEN_BY_TAGS = ("sha512",)
"""Payload digests not re-hashed unless ``every_digest``: ``manifest-sha512.txt`` is checked
byte for byte against the signed sha256 tag manifest and the sha512 one, names the same files
as the sha256 manifest, and was written from the same pass over the bytes at ingest; so a
payload that matches sha256 matches it too, and hashing sha512 as well would cost 2-4× the
audit's time for nothing new. SM3 (国密 bags) is always hashed: its side must stand alone.
``audit_every_payload_digest`` turns the full hashing on."""
READ_SIZE = 1024 * 1024
PARALLEL_MIN_SIZE = 1024 * 1024
PARALLEL_CHUNK = 256 * 1024


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
    checked_at: datetime | None = None
    repair: Any = None  # a preserve.audit.repair.RepairResult once a repair was tried

    @property
    def outcome(self) -> AuditOutcome:
        if not self.problems:
            return AuditOutcome.OK
        order = list(AuditOutcome)
        return max((p.outcome for p in self.problems), key=order.index)

    def summary(self, limit: int = 50) -> str:
        text = f"{self.files_checked} files, {self.bytes_read} bytes read"
        if self.problems:
            text += "; " + "; ".join(
                f"{p.path}: {p.outcome.value} ({p.detail})" for p in self.problems[:limit]
            )
        return text


@dataclass(frozen=True)
class _Hashed:
    digests: dict[str, str]
    size: int = 0
    problem: FileProblem | None = None


def audit_replica(
    store: Store,
    aip: Aip,
    trusted: dict,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int = 1,
    every_digest: bool = False,
) -> ReplicaAudit:
    """The whole bag: :func:`preserve.trust.bag_check.check_tags` for every tag file, tag
    manifest and signature, then every payload file hashed once with every algorithm the bag
    has a manifest for (sha256, sha512, sm3), against each manifest and the catalogue."""
    result = ReplicaAudit(aip.id, store.name)
    tags = check_tags(store, aip.id, trusted, aip.tagmanifest_sha256)
    result.bytes_read += tags.bytes_read
    result.problems.extend(
        FileProblem(p.path, AuditOutcome(p.outcome), p.detail) for p in tags.problems
    )
    manifests = tags.payload if tags.signature is not None and tags.tag_sha256 else {}
    if not every_digest:  # sha512 is proven through the tag manifests (see _PROVEN_BY_TAGS)
        manifests = {a: m for a, m in manifests.items() if a not in _PROVEN_BY_TAGS}
    algorithms = ("sha256", *sorted(a for a in manifests if a != "sha256"))
    files = list(aip.files)
    hashed_files = _hash_files(store, aip.id, files, workers, algorithms)
    for f, hashed in zip(files, hashed_files, strict=True):
        if progress is not None:
            progress(f.size)
        if hashed.problem is not None:
            result.problems.append(hashed.problem)
            continue
        result.bytes_read += hashed.size
        result.files_checked += 1
        got = hashed.digests
        against = manifests
        if got["sha256"] != f.sha256:
            result.problems.append(
                FileProblem(
                    f"data/{f.path}",
                    AuditOutcome.MISMATCH,
                    f"sha256 {got['sha256']}, expected {f.sha256}",
                )
            )
            # the other manifests (sm3 on 国密 bags) are independent witnesses: say them too
            against = {a: m for a, m in manifests.items() if a != "sha256"}
        for algorithm, manifest in against.items():
            if manifest.get(f.path) != got[algorithm]:
                result.problems.append(
                    FileProblem(
                        f"data/{f.path}",
                        AuditOutcome.MISMATCH,
                        f"{algorithm} {got[algorithm]}, {PAYLOAD_MANIFESTS[algorithm]} says "
                        f"{manifest.get(f.path)}",
                    )
                )
    known = {f.path for f in files}
    for algorithm, manifest in manifests.items():
        for path in sorted(set(manifest) - known)[:10]:
            result.problems.append(
                FileProblem(
                    f"data/{path}",
                    AuditOutcome.MISMATCH,
                    f"{PAYLOAD_MANIFESTS[algorithm]} lists a file the catalogue does not know",
                )
            )
    return result


def _hash_files(
    store: Store, aip_id: str, files: list[File], workers: int, algorithms: tuple[str, ...]
) -> Iterator[_Hashed]:
    """Digests in file order. With several workers, files of 1 MiB or more are hashed in a
    thread pool while the calling thread hashes the small ones (threads only pay off where
    hashlib runs long without the GIL)."""
    prefix = aip_prefix(aip_id) + "data/"
    keys = [prefix + f.path for f in files]
    hash_one = _hasher_for(store, algorithms)
    large = [i for i, f in enumerate(files) if f.size >= PARALLEL_MIN_SIZE]
    if workers <= 1 or len(large) < 2:
        yield from (hash_one(key) for key in keys)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit") as pool:
        futures = {i: pool.submit(hash_one, keys[i]) for i in large}
        for i, key in enumerate(keys):
            yield futures[i].result() if i in futures else hash_one(key)


def _hasher_for(store: Store, algorithms: tuple[str, ...]) -> Callable[[str], _Hashed]:
    """A local directory is read with plain file descriptors: for a bag of small files the
    per-file cost of building paths and buffered file objects is most of the work."""
    if isinstance(store, LocalDirectory):
        root = str(store.root)
        return lambda key: _hash_local(root, key, algorithms)
    return lambda key: _hash_key(store, key, algorithms)


def _hash_local(root: str, key: str, algorithms: tuple[str, ...]) -> _Hashed:
    relpath = key.split("/", 4)[4]
    probe = f"/{key}/"
    if "//" in probe or "/./" in probe or "/../" in probe:
        return _Hashed({}, 0, FileProblem(relpath, AuditOutcome.UNREADABLE, "unsafe key"))
    buf, view = _buffer()
    hashers = [hashlib.new(a) for a in algorithms]
    size = 0
    try:
        fd = os.open(f"{root}/{key}", os.O_RDONLY)
    except FileNotFoundError:
        return _Hashed({}, 0, FileProblem(relpath, AuditOutcome.MISSING, "object is missing"))
    except OSError as exc:
        return _Hashed({}, 0, FileProblem(relpath, AuditOutcome.UNREADABLE, str(exc)))
    try:
        while n := os.readv(fd, (buf,)):
            _update(hashers, view[:n])
            size += n
            if n < READ_SIZE:  # a short read of a regular file is its end: saves a syscall
                break
    except OSError as exc:
        return _Hashed({}, 0, FileProblem(relpath, AuditOutcome.UNREADABLE, str(exc)))
    finally:
        os.close(fd)
    return _Hashed({a: h.hexdigest() for a, h in zip(algorithms, hashers, strict=True)}, size)


def _update(hashers: list, data: memoryview) -> None:
    """Feed a chunk to every algorithm; with more than one (sha512, sm3 beside sha256) the
    others run on the shared hashing threads meanwhile, so a whole-bag audit takes about as
    long as its slowest digest, not the sum of all (hashlib releases the GIL)."""
    if len(hashers) == 1 or len(data) < PARALLEL_CHUNK:
        for h in hashers:
            h.update(data)
        return
    pool = MultiHasher.pool()
    others = [pool.submit(h.update, data) for h in hashers[1:]]
    hashers[0].update(data)
    for future in others:
        future.result()


_local = threading.local()


def _buffer() -> tuple[bytearray, memoryview]:
    buf = getattr(_local, "buf", None)
    if buf is None:
        raw = bytearray(READ_SIZE)
        buf = _local.buf = (raw, memoryview(raw))
    return buf


def _hash_key(store: Store, key: str, algorithms: tuple[str, ...]) -> _Hashed:
    relpath = key.split("/", 4)[4]
    buf, view = _buffer()
    hashers = [hashlib.new(a) for a in algorithms]
    size = 0
    try:
        with store.open(key) as stream:
            readinto = stream.readinto
            while n := readinto(buf):
                _update(hashers, view[:n])
                size += n
    except ObjectNotFound:
        return _Hashed({}, 0, FileProblem(relpath, AuditOutcome.MISSING, "object is missing"))
    except StorageError as exc:
        return _Hashed({}, 0, FileProblem(relpath, AuditOutcome.UNREADABLE, str(exc)))
    except OSError as exc:
        problem = FileProblem(relpath, AuditOutcome.UNREADABLE, f"read failed: {exc}")
        return _Hashed({}, 0, problem)
    return _Hashed({a: h.hexdigest() for a, h in zip(algorithms, hashers, strict=True)}, size)
