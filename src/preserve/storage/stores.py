"""The archive's storage as domain code sees it: profiles by reference, an open store per target.

A :class:`Stores` is what a service that reads or writes AIPs takes instead of the whole
runtime. Relative filesystem roots in a profile resolve against ``base_dir`` (the runtime
passes the data directory). Stores are opened on first use and kept (an S3 client is costly
to build); tests may hand in ready stores (the in-memory one, say) by target name.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from preserve.storage.base import Store
from preserve.storage.profiles import StorageProfile, load_profile, resolve_profile_path
from preserve.storage.registry import open_store


class Stores:
    def __init__(
        self,
        profiles_dir: Path,
        default_profile: str,
        *,
        base_dir: Path | None = None,
        injected: Mapping[str, Store] | None = None,
    ) -> None:
        self.profiles_dir = Path(profiles_dir)
        self.default_profile = default_profile
        self._base_dir = base_dir
        self._injected = dict(injected or {})
        self._profiles: dict[str, StorageProfile] = {}
        self._open: dict[tuple[str, str], Store] = {}
        self._lock = threading.Lock()

    def profile_path(self, ref: str | None = None) -> Path:
        return resolve_profile_path(ref or self.default_profile, self.profiles_dir)

    def profile(self, ref: str | None = None) -> StorageProfile:
        ref = ref or self.default_profile
        with self._lock:
            return self._profile_unlocked(ref)

    def store(self, profile_ref: str, target_name: str) -> Store:
        """The store of ``target_name`` in profile ``profile_ref``, opened once."""
        if target_name in self._injected:
            return self._injected[target_name]
        key = (profile_ref, target_name)
        with self._lock:
            if key not in self._open:
                target = self._profile_unlocked(profile_ref).target(target_name)
                self._open[key] = open_store(target)
            return self._open[key]

    def reload(self) -> None:
        """Forget loaded profiles and opened stores: the next use reads the files again."""
        with self._lock:
            self._profiles.clear()
            self._open.clear()

    def _profile_unlocked(self, ref: str) -> StorageProfile:
        if ref not in self._profiles:
            path = self.profile_path(ref)
            self._profiles[ref] = load_profile(path, base_dir=self._base_dir or path.parent)
        return self._profiles[ref]
