"""An in-memory store shipped in the package, for tests to inject (like httpx's MockTransport)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import BinaryIO

from preserve.storage.base import ObjectExists, ObjectInfo, ObjectNotFound, StorageError


class MemoryStore:
    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, key: str, source: BinaryIO, *, overwrite: bool = False) -> ObjectInfo:
        data = source.read()
        with self._lock:
            if not overwrite and key in self._objects:
                raise ObjectExists(f"{self.name}: {key} already exists")
            self._objects[key] = data
        return ObjectInfo(key, len(data))

    def open(self, key: str) -> BinaryIO:
        try:
            return io.BytesIO(self._objects[key])
        except KeyError:
            raise ObjectNotFound(f"{self.name}: no object {key}") from None

    def stat(self, key: str) -> ObjectInfo:
        try:
            return ObjectInfo(key, len(self._objects[key]))
        except KeyError:
            raise ObjectNotFound(f"{self.name}: no object {key}") from None

    def list(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            keys = [k for k in self._objects if k.startswith(prefix)]
        yield from keys

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def destroy(self, prefix: str, *, bypass_governance: bool = False) -> int:
        if not prefix.strip("/"):
            raise StorageError(f"{self.name}: refusing to destroy the whole store")
        with self._lock:
            gone = [k for k in self._objects if k.startswith(prefix)]
            for key in gone:
                del self._objects[key]
        return len(gone)

    def remnants(self, prefix: str) -> list[str]:
        return sorted(self.list(prefix))
