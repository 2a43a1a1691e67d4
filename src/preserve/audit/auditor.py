"""Auditing replicas: read every byte back from the store, hash it here, compare.

Per replica: the signature over the tag manifest must verify with one of the archive's keys;
the tag manifest must be the one that was signed (its sha256 is in the catalogue); every tag
file must match the tag manifest; every payload file must match both the digest recorded at
ingest and the bag's own manifest. Recording an outcome is :mod:`preserve.audit.record`'s job.

The hot path hashes sha256 only, with 1 MiB reads into a buffer reused per thread: hashlib
releases the GIL on large buffers, so ``workers`` threads hash that many files at once.
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

from preserve.aip import bag as bagit
from preserve.aip.layout import aip_key, aip_prefix
from preserve.catalog.models import Aip, File
from preserve.errors import IntegrityError
from preserve.storage.base import LocalDirectory, ObjectNotFound, StorageError, Store, read_bytes
from preserve.trust.guomi import guomi_problems
from preserve.trust.signing import Signature, verify

READ_SIZE = 1024 * 1024
PARALLEL_MIN_SIZE = 1024 * 1024


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
    digest: str | None
    size: int = 0
    problem: FileProblem | None = None


def audit_replica(
    store: Store,
    aip: Aip,
    trusted: dict,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int = 1,
) -> ReplicaAudit:
    result = ReplicaAudit(aip.id, store.name)
    manifest = _check_tags(store, aip, trusted, result)
    files = list(aip.files)
    for f, hashed in zip(files, _hash_files(store, aip.id, files, workers), strict=True):
        if progress is not None:
            progress(f.size)
        if hashed.problem is not None:
            result.problems.append(hashed.problem)
            continue
        result.bytes_read += hashed.size
        result.files_checked += 1
        if hashed.digest != f.sha256:
            result.problems.append(
                FileProblem(
                    f"data/{f.path}",
                    AuditOutcome.MISMATCH,
                    f"sha256 {hashed.digest}, expected {f.sha256}",
                )
            )
        elif manifest is not None and manifest.get(f"data/{f.path}") != f.sha256:
            result.problems.append(
                FileProblem(
                    f"data/{f.path}", AuditOutcome.MISMATCH, "bag manifest disagrees with catalogue"
                )
            )
    result.problems.extend(  # 国密 bags: the SM2 signature and every file again by SM3
        FileProblem(p.path, AuditOutcome(p.outcome), p.detail)
        for p in guomi_problems(store, aip.id, trusted)
    )
    return result


def _hash_files(store: Store, aip_id: str, files: list[File], workers: int) -> Iterator[_Hashed]:
    """Digests in file order. With several workers, files of 1 MiB or more are hashed in a
    thread pool while the calling thread hashes the small ones (threads only pay off where
    hashlib runs long without the GIL)."""
    prefix = aip_prefix(aip_id) + "data/"
    keys = [prefix + f.path for f in files]
    hash_one = _hasher_for(store)
    large = [i for i, f in enumerate(files) if f.size >= PARALLEL_MIN_SIZE]
    if workers <= 1 or len(large) < 2:
        yield from (hash_one(key) for key in keys)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit") as pool:
        futures = {i: pool.submit(hash_one, keys[i]) for i in large}
        for i, key in enumerate(keys):
            yield futures[i].result() if i in futures else hash_one(key)


def _hasher_for(store: Store) -> Callable[[str], _Hashed]:
    """A local directory is read with plain file descriptors: for a bag of small files the
    per-file cost of building paths and buffered file objects is most of the work."""
    if isinstance(store, LocalDirectory):
        root = str(store.root)
        return lambda key: _hash_local(root, key)
    return lambda key: _hash_key(store, key)


def _hash_local(root: str, key: str) -> _Hashed:
    relpath = key.split("/", 4)[4]
    probe = f"/{key}/"
    if "//" in probe or "/./" in probe or "/../" in probe:
        return _Hashed(None, 0, FileProblem(relpath, AuditOutcome.UNREADABLE, "unsafe key"))
    buf, view = _buffer()
    h = hashlib.sha256()
    size = 0
    try:
        fd = os.open(f"{root}/{key}", os.O_RDONLY)
    except FileNotFoundError:
        return _Hashed(None, 0, FileProblem(relpath, AuditOutcome.MISSING, "object is missing"))
    except OSError as exc:
        return _Hashed(None, 0, FileProblem(relpath, AuditOutcome.UNREADABLE, str(exc)))
    try:
        while n := os.readv(fd, (buf,)):
            h.update(view[:n])
            size += n
            if n < READ_SIZE:  # a short read of a regular file is its end: saves a syscall
                break
    except OSError as exc:
        return _Hashed(None, 0, FileProblem(relpath, AuditOutcome.UNREADABLE, str(exc)))
    finally:
        os.close(fd)
    return _Hashed(h.hexdigest(), size)


_local = threading.local()


def _buffer() -> tuple[bytearray, memoryview]:
    buf = getattr(_local, "buf", None)
    if buf is None:
        raw = bytearray(READ_SIZE)
        buf = _local.buf = (raw, memoryview(raw))
    return buf


def _hash_key(store: Store, key: str) -> _Hashed:
    relpath = key.split("/", 4)[4]
    buf, view = _buffer()
    h = hashlib.sha256()
    size = 0
    try:
        with store.open(key) as stream:
            readinto = stream.readinto
            while n := readinto(buf):
                h.update(view[:n])
                size += n
    except ObjectNotFound:
        return _Hashed(None, 0, FileProblem(relpath, AuditOutcome.MISSING, "object is missing"))
    except StorageError as exc:
        return _Hashed(None, 0, FileProblem(relpath, AuditOutcome.UNREADABLE, str(exc)))
    except OSError as exc:
        problem = FileProblem(relpath, AuditOutcome.UNREADABLE, f"read failed: {exc}")
        return _Hashed(None, 0, problem)
    return _Hashed(h.hexdigest(), size)


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
    result.bytes_read += len(tagmanifest)
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
        if relpath == "manifest-sha256.txt":
            digest = _check_payload_manifest(store, aip.id, want, result)
            manifest = digest
            continue
        hashed = _hash_key(store, aip_key(aip.id, relpath))
        if hashed.problem is not None:
            result.problems.append(hashed.problem)
            continue
        result.bytes_read += hashed.size
        if hashed.digest != want:
            result.problems.append(
                FileProblem(
                    relpath, AuditOutcome.MISMATCH, f"sha256 {hashed.digest}, expected {want}"
                )
            )
    return manifest


def _check_payload_manifest(
    store: Store, aip_id: str, want: str, result: ReplicaAudit
) -> dict | None:
    """Read the payload manifest once: hash it, and parse it when it is the signed one."""
    relpath = "manifest-sha256.txt"
    try:
        data = read_bytes(store, aip_key(aip_id, relpath))
    except ObjectNotFound:
        result.problems.append(FileProblem(relpath, AuditOutcome.MISSING, "object is missing"))
        return None
    except StorageError as exc:
        result.problems.append(FileProblem(relpath, AuditOutcome.UNREADABLE, str(exc)))
        return None
    result.bytes_read += len(data)
    digest = hashlib.sha256(data).hexdigest()
    if digest != want:
        result.problems.append(
            FileProblem(relpath, AuditOutcome.MISMATCH, f"sha256 {digest}, expected {want}")
        )
        return None
    return bagit.parse_manifest(data)
