"""What a process needs to do work: settings, the database, the signing key, the stores.

Built once per process (the API app, a worker, a CLI command), never at import time.
"""

from __future__ import annotations

import threading
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from preserve.catalog.db import make_engine, make_sessionmaker
from preserve.settings import Settings
from preserve.storage.base import Store
from preserve.storage.profiles import StorageProfile
from preserve.storage.registry import open_store
from preserve.trust import keys
from preserve.trust.keyring import Keyring


class Runtime:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings.sqlalchemy_url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self._profiles: dict[str, StorageProfile] = {}
        self._stores: dict[tuple[str, str], Store] = {}
        self._lock = threading.Lock()

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring(self.settings.keys_dir, self.settings.key_passphrase)

    @property
    def signing_key(self) -> keys.SigningKey:
        """The current Ed25519 key; a rotation by another process is seen at the next call."""
        return self.keyring.signing_key()

    def trusted_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every key the archive has used, with their revocation dates (``.revoked_from``)."""
        signing = self.signing_key
        trusted = self.keyring.trusted()
        trusted.setdefault(signing.key_id, signing.public)
        return trusted

    def profile(self, ref: str | None = None) -> StorageProfile:
        ref = ref or self.settings.storage_profile
        with self._lock:
            if ref not in self._profiles:
                self._profiles[ref] = self.settings.load_profile(ref)
            return self._profiles[ref]

    def profile_ref(self, profile: StorageProfile) -> str:
        return profile.name

    def store(self, profile_ref: str, target_name: str) -> Store:
        key = (profile_ref, target_name)
        with self._lock:
            if key not in self._stores:
                target = self._profile_unlocked(profile_ref).target(target_name)
                self._stores[key] = open_store(target)
            return self._stores[key]

    def _profile_unlocked(self, ref: str) -> StorageProfile:
        if ref not in self._profiles:
            self._profiles[ref] = self.settings.load_profile(ref)
        return self._profiles[ref]

    def close(self) -> None:
        self.engine.dispose()
