"""Build a :class:`Store` from a profile target (the ``from_config`` factory)."""

from __future__ import annotations

from preserve.storage.base import Store
from preserve.storage.filesystem import FilesystemStore
from preserve.storage.profiles import FilesystemTarget, S3Target


def open_store(target: FilesystemTarget | S3Target) -> Store:
    if isinstance(target, FilesystemTarget):
        return FilesystemStore(target.name, target.root)
    from preserve.storage.s3 import S3Store

    return S3Store.from_config(target)
