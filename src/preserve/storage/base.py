"""The storage interface every backend implements.

A store is a flat key space of immutable byte objects. Keys are ``/``-separated relative
paths (see :mod:`preserve.aip.layout`). The interface is deliberately small, in the way
of Warehouse's ``IFileStorage`` and httpx's transports: anything a backend needs beyond it
stays inside the backend.

Errors: the ``StorageError`` subtree of :mod:`preserve.errors` (re-exported here for the
backends, which raise them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol, runtime_checkable

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
