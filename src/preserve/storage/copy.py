"""Copying an AIP's bag to a store and proving the copy by reading it back.

A copy is believed only after every object has been read back from the target and hashed
here (DESIGN.md principle 6): payload files against the catalogue's sha256, tag files against
the signed tag manifest, the tag manifest against the digest recorded when it was signed.
Re-running a copy is safe: objects already present with the right digest are kept, wrong ones
are replaced, so a retried job never leaves duplicates or half-written bags behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from preserve.digests import hash_stream
from preserve.errors import IntegrityError
from preserve.ingest import bag as bagit
from preserve.storage.base import ObjectExists, ObjectNotFound, Store
from preserve.storage.layout import aip_key


class BagSource(Protocol):
    def open(self, relpath: str) -> AbstractContextManager[BinaryIO]: ...


@dataclass(frozen=True)
class DirectorySource:
    root: object

    def open(self, relpath: str):
        from pathlib import Path

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


def copy_bag(
    source: BagSource,
    store: Store,
    aip_id: str,
    expected: dict[str, str],
    extra: list[str],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write every file of the bag to ``store`` (payload first, signature last), verified.

    ``extra`` files (the signature, the sha512 tag manifest) have no digest on record; each is
    hashed at the source and its copy must match that.
    """
    expected = dict(expected)
    for relpath in extra:
        with source.open(relpath) as stream:
            expected[relpath] = hash_stream(stream, ("sha256",))[0]["sha256"]
    for relpath in bagit.store_order(expected):
        key = aip_key(aip_id, relpath)
        want = expected[relpath]
        if _has(store, key, want):
            continue
        with source.open(relpath) as stream:
            try:
                info = store.put(key, stream)
            except ObjectExists:
                with source.open(relpath) as again:
                    info = store.put(key, again, overwrite=True)
        _verify_object(store, key, want)
        if progress is not None:
            progress(info.size)


def _has(store: Store, key: str, sha256: str) -> bool:
    try:
        with store.open(key) as stream:
            digests, _ = hash_stream(stream, ("sha256",))
    except ObjectNotFound:
        return False
    return digests["sha256"] == sha256


def _verify_object(store: Store, key: str, sha256: str) -> None:
    with store.open(key) as stream:
        digests, _ = hash_stream(stream, ("sha256",))
    if digests["sha256"] != sha256:
        raise IntegrityError(
            f"{store.name}: read-back of {key} gave sha256 {digests['sha256']}, expected {sha256}"
        )
