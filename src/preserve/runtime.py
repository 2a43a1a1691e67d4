"""The composition root: what a process needs to do work, built from its settings.

Settings, the database engine and session factory, the stores (:class:`Stores`) and the
keyring. Built once per process (the API app, a worker, a CLI command), never at import
time. Only the edges (``api``, ``cli``, ``jobs``) hold a ``Runtime``; they unpack it and hand
each domain service the parts it uses, and they own the unit of work (the import-linter
contract in ``pyproject.toml`` keeps domain code from importing this module).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from preserve.catalog.db import (
    make_engine,
    make_read_sessionmaker,
    make_readonly_engine,
    make_sessionmaker,
)
from preserve.settings import Settings
from preserve.storage.base import Store
from preserve.storage.profiles import StorageProfile
from preserve.storage.stores import Stores
from preserve.trust import keys
from preserve.trust.keyring import Keyring, TrustedKeys


class Runtime:
    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        stores: Mapping[str, Store] | None = None,
    ) -> None:
        """``stores`` replaces the profile's store of each named target (tests inject the
        in-memory store this way)."""
        self.settings = settings
        self.engine = engine or make_engine(settings.sqlalchemy_url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.read_sessions: sessionmaker[Session] = make_read_sessionmaker(self.engine)
        self.stores = Stores(
            settings.profiles_dir,
            settings.storage_profile,
            base_dir=settings.resolved_data_dir,
            injected=stores,
        )

    @cached_property
    def readonly_engine(self) -> Engine:
        """For the public face: ``public_database_url`` (a read-only role) or the catalogue,
        opened so that it cannot write either way."""
        url = self.settings.public_database_url or self.settings.sqlalchemy_url
        return make_readonly_engine(url)

    @cached_property
    def readonly_sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.readonly_engine, expire_on_commit=False)

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring(self.settings.keys_dir, self.settings.key_passphrase)

    @property
    def signing_key(self) -> keys.SigningKey:
        """The current Ed25519 key; a rotation by another process is seen at the next call."""
        return self.keyring.signing_key()

    def trusted_keys(self) -> TrustedKeys:
        return self.keyring.trusted_keys()

    def profile(self, ref: str | None = None) -> StorageProfile:
        return self.stores.profile(ref)

    def store(self, profile_ref: str, target_name: str) -> Store:
        return self.stores.store(profile_ref, target_name)

    def close(self) -> None:
        self.engine.dispose()
        if "readonly_engine" in self.__dict__:
            self.readonly_engine.dispose()
