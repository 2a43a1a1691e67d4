"""The storage interface every backend implements.

A store is a flat key space of immutable byte objects. Keys are ``/``-separated relative
paths (see :mod:`preserve.aip.layout`). The interface is deliberately small, in the way
of Warehouse's ``IFileStorage`` and httpx's transports: anything a backend needs beyond it
stays inside the backend.

What only some backends can do is declared as a capability: a small protocol beside
:class:`Store` (:class:`Versioned`, :class:`Checksumming`, :class:`Restorable`,
:class:`Multipart`, :class:`LocalDirectory`, :class:`Destroyable`,
:class:`RecordLocking`), checked with
``isinstance`` and never probed with ``hasattr``. The store contract suite tests each
capability on every backend that claims it.

Errors: the ``StorageError`` subtree of :mod:`preserve.errors` (re-exported here for the
backends, which raise them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeGuard, runtime_checkable

from preserve.errors import (
    ObjectCorrupt,
    ObjectExists,
    ObjectNotFound,
    ObjectUnavailable,
    SourceUnavailable,
    StorageError,
)

__all__ = [
    "ObjectCorrupt",
    "ObjectExists",
    "ObjectNotFound",
    "ObjectUnavailable",
    "SourceUnavailable",
    "StorageError",
]

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """What a store knows of an object. A backend that hashes what it writes fills
    ``sha256``; ``checksum_confirmed`` says the server's own checksum of the stored object
    matched it; ``version_id`` names the version written on a versioned bucket."""

    key: str
    size: int
    sha256: str | None = field(default=None, compare=False)
    checksum_confirmed: bool = field(default=False, compare=False)
    version_id: str | None = field(default=None, compare=False)


@runtime_checkable
class Store(Protocol):
    """One storage target: a filesystem directory, a bucket, or memory (tests)."""

    name: str

    def put(self, key: str, source: BinaryIO, *, overwrite: bool = False) -> ObjectInfo:
        """Stream ``source`` to ``key``; the object appears whole or not at all.

        Without ``overwrite`` an existing key raises :class:`ObjectExists`; with it (repair),
        a versioned or WORM backend writes a new version instead of replacing bytes in place.
        """
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object; the caller closes it."""
        ...

    def stat(self, key: str) -> ObjectInfo:
        """Size of the object; raises :class:`ObjectNotFound` when absent."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix``, in no guaranteed order."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...


# -- capabilities ---------------------------------------------------------------------------


@runtime_checkable
class Versioned(Protocol):
    """A store that keeps versions (an S3 bucket): one version can be removed for good."""

    def delete_version(self, key: str, version_id: str) -> None:
        """Delete one version; Object Lock retention makes the server refuse it."""
        ...

    def bucket_status(self) -> dict[str, Any]:
        """``{"versioning": bool, "object_lock": bool, ...}`` as the server reports them."""
        ...


@runtime_checkable
class Checksumming(Protocol):
    """A store whose server keeps its own SHA-256 of each object.

    ``verify_mode`` is ``"checksum"`` where objects cannot be read back (archive classes):
    a copy is then proven by the server's checksum alone, else ``"read-back"``."""

    verify_mode: str

    def checksum_sha256(self, key: str) -> str | None:
        """The server's SHA-256 of the whole object in hex; None when it has none usable."""
        ...

    def matches_sha256(
        self, key: str, sha256: str, reopen: Callable[[], AbstractContextManager[BinaryIO]]
    ) -> bool:
        """Whether the stored object has this content, by the server's checksum alone."""
        ...


@runtime_checkable
class Restorable(Protocol):
    """A cold tier: an object must be restored before :meth:`Store.open` can read it."""

    def request_restore(self, key: str, days: int = 1) -> None:
        """Ask for a temporary readable copy (idempotent)."""
        ...

    def is_restored(self, key: str) -> bool:
        """Whether the object can be read now (always true outside archive tiers)."""
        ...


class PendingUpload(Protocol):
    key: str
    upload_id: str
    initiated: datetime


@runtime_checkable
class Multipart(Protocol):
    """A store that writes large objects in parts, several at once.

    ``part_size`` tells small objects from large ones, ``max_concurrency`` how many writes
    may run at once; uploads a killed writer left unfinished can be listed and aborted."""

    part_size: int
    max_concurrency: int

    def incomplete_uploads(self, prefix: str = "") -> list[Any]:
        """Each upload begun under ``prefix`` and never finished (a :class:`PendingUpload`)."""
        ...

    def abort_upload(self, key: str, upload_id: str) -> None: ...


@runtime_checkable
class LocalDirectory(Protocol):
    """A store whose object ``key`` is the file ``root/key`` on a local or mounted disk."""

    root: Path


@runtime_checkable
class RecordLocking(Protocol):
    """A WORM store (S3 Object Lock) that can write an object locked until a given instant
    instead of the profile's fixed period: a 10- or 30-year record's AIP is locked until its
    retention ends, so WORM never blocks a lawful destruction and nothing destroys it earlier."""

    def put_until(
        self, key: str, source: BinaryIO, until: datetime, *, overwrite: bool = False
    ) -> ObjectInfo:
        """As :meth:`Store.put`, locked until ``until`` where the store locks at all."""
        ...


@runtime_checkable
class Destroyable(Protocol):
    """A store that can remove everything under a prefix for good and prove it by listing:
    every object, and on a versioned bucket every version and delete marker (a lawful
    destruction, preserve.disposal). A plain :meth:`Store.delete` on a versioned bucket only
    hides the current version, which is not destruction."""

    def destroy(self, prefix: str, *, bypass_governance: bool = False) -> int:
        """Remove every object (every version) under ``prefix``; returns how many went.

        ``bypass_governance`` lifts an Object Lock retention in governance mode, which only a
        destruction approved after the record's retention ended may ask for; a lock the
        server still enforces raises :class:`~preserve.errors.DestructionRefused`."""
        ...

    def remnants(self, prefix: str) -> list[str]:
        """What is left under ``prefix``: every key, version and delete marker."""
        ...


@runtime_checkable
class Fetching(Protocol):
    """A store that writes an object straight into a file, a large one in parallel parts
    (an S3 bucket: ranged GETs), and hands every byte, in order, to ``consume``."""

    def fetch(self, key: str, fd: int, consume: Callable[[bytes], None]) -> int:
        """Write the object into the open file ``fd`` at its offsets; its size."""
        ...


def fetch_into(store: Store, key: str, fd: int, consume: Callable[[bytes], None]) -> int:
    """The object written into ``fd`` and handed to ``consume`` in order, in parallel parts
    where the store can (:class:`Fetching`), else streamed; its size."""
    if isinstance(store, Fetching):
        return store.fetch(key, fd, consume)
    size = 0
    with store.open(key) as stream:
        while chunk := stream.read(CHUNK_SIZE):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
            size += len(chunk)
            consume(chunk)
    return size


def proves_by_checksum(store: Store) -> TypeGuard[Checksumming]:
    """Whether a copy on ``store`` is proven by the server's checksum, not by reading back."""
    return isinstance(store, Checksumming) and store.verify_mode == "checksum"


def exists(store: Store, key: str) -> bool:
    try:
        store.stat(key)
    except ObjectNotFound:
        return False
    return True


def read_bytes(store: Store, key: str) -> bytes:
    """Read a small object (a tag file, a signature) whole."""
    with store.open(key) as stream:
        return stream.read()
