"""Cold targets: objects in an archive storage class must be restored before they can be read.

Only a store that can restore (:class:`preserve.storage.base.Restorable`) has cold objects; on
any other store every object counts as readable.
"""

from __future__ import annotations

from preserve.aip.layout import aip_prefix
from preserve.storage.base import Restorable, Store

RESTORE_DAYS = 2  # how long the provider keeps the readable copy


def can_restore(store: Store) -> bool:
    return isinstance(store, Restorable)


def request_restore(store: Store, aip_id: str) -> int:
    """Ask for a readable copy of every object of the replica; the number of objects."""
    if not isinstance(store, Restorable):
        return 0
    count = 0
    for key in store.list(aip_prefix(aip_id)):
        store.request_restore(key, RESTORE_DAYS)
        count += 1
    return count


def is_readable(store: Store, aip_id: str) -> bool:
    if not isinstance(store, Restorable):
        return True
    return all(store.is_restored(key) for key in store.list(aip_prefix(aip_id)))
