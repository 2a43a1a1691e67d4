"""The archive's keys over time: rotation, revocation, and which key signs now.

Under ``<data_dir>/keys/`` (0700), beside the first Ed25519 key that :mod:`preserve.trust.keys`
makes (``archive-ed25519.pem``):

    ed25519-<key id>.pem, ed25519-<key id>.pub.pem     keys made by a rotation
    sm2-<key id>-private.pem, sm2-<key id>-public.pem  SM2 keys (国密 profiles)
    keyring.json                                       which key is current per algorithm,
                                                       when each was made, retired, revoked

Private keys are PKCS#8 PEM, mode 0600, encrypted when ``PRESERVE_KEY_PASSPHRASE`` is set, and
never leave the directory: ``export-public`` writes public keys only. A rotation makes a new
key current; older keys keep verifying what they signed. A revocation marks a key revoked from
a date: signatures it made on or after that date are refused (:func:`signing.verify`).
Running processes notice a rotation by the file's modification time, so a worker never goes on
signing with a retired key.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from preserve.catalog.types import utcnow
from preserve.durable import write_file
from preserve.errors import Conflict, NotFound
from preserve.trust import keys, sm2
from preserve.trust.signing import ALGORITHM as ED25519
from preserve.trust.signing import SM2_ALGORITHM as SM2

KEYRING = "keyring.json"
LOCK = ".keyring.lock"


class TrustedKeys(dict):
    """key id -> public key, plus ``revoked_from``: key id -> the date its revocation starts."""

    def __init__(self, keys_: dict[str, Any], revoked_from: dict[str, datetime]) -> None:
        super().__init__(keys_)
        self.revoked_from = revoked_from


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    algorithm: str
    public_key_pem: str
    created_at: datetime | None
    current: bool
    retired_at: datetime | None
    revoked_from: datetime | None
    revocation_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "key_id": self.key_id,
            "algorithm": self.algorithm,
            "public_key_pem": self.public_key_pem,
            "created_at": iso(self.created_at),
            "current": self.current,
            "retired_at": iso(self.retired_at),
            "revoked_from": iso(self.revoked_from),
            "revocation_reason": self.revocation_reason,
        }


class Keyring:
    def __init__(self, keys_dir: Path, passphrase: str | None = None) -> None:
        self.dir = keys_dir
        self.passphrase = passphrase
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._doc: dict[str, Any] = _empty()
        self._loaded: dict[str, Any] = {}

    # -- reading -------------------------------------------------------------------------
    def document(self) -> dict[str, Any]:
        """keyring.json as it is now (re-read when the file changes)."""
        path = self.dir / KEYRING
        try:
            st = path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._doc = json.loads(path.read_text("utf-8")) if stamp else _empty()
                self._stamp = stamp
            return self._doc

    def current_key_id(self, algorithm: str = ED25519) -> str | None:
        return self.document()["current"].get(algorithm)

    def signing_key(self) -> keys.SigningKey:
        """The Ed25519 key new signatures are made with (made on first use)."""
        kid = self.current_key_id(ED25519)
        if kid is None:
            key = keys.load_or_create(self.dir, self.passphrase)
            self._remember_first(key)
            return key
        return self._load(kid)

    def sm2_key(self) -> sm2.Sm2PrivateKey:
        """The SM2 key new 国密 signatures are made with (made on first use)."""
        kid = self.current_key_id(SM2)
        if kid is None:
            return self.rotate(SM2, reason="first SM2 key")
        return self._load(kid)

    def trusted(self) -> TrustedKeys:
        found: dict[str, Any] = dict(keys.load_public_keys(self.dir))
        for path in sorted(self.dir.glob("sm2-*-public.pem")):
            public = sm2.Sm2PublicKey.from_pem(path.read_text("ascii"))
            found[public.key_id] = public
        revoked = {
            kid: datetime.fromisoformat(entry["revoked_from"])
            for kid, entry in self.document()["keys"].items()
            if entry.get("revoked_from")
        }
        return TrustedKeys(found, revoked)

    def trusted_keys(self) -> TrustedKeys:
        """Every key the archive has used, the current signing key included (made on first
        use), with their revocation dates (``.revoked_from``)."""
        signing = self.signing_key()
        trusted = self.trusted()
        trusted.setdefault(signing.key_id, signing.public)
        return trusted

    def list(self) -> list[KeyInfo]:
        doc = self.document()
        trusted = self.trusted()
        result = []
        for kid, public in sorted(trusted.items()):
            entry = doc["keys"].get(kid, {})
            algorithm = SM2 if isinstance(public, sm2.Sm2PublicKey) else ED25519
            pem = public.pem() if algorithm == SM2 else keys.public_pem(public)
            current = doc["current"].get(algorithm) == kid or (
                algorithm == ED25519 and ED25519 not in doc["current"]
            )
            result.append(
                KeyInfo(
                    kid,
                    algorithm,
                    pem,
                    _date(entry.get("created_at")),
                    current,
                    _date(entry.get("retired_at")),
                    _date(entry.get("revoked_from")),
                    entry.get("revocation_reason"),
                )
            )
        return result

    # -- changing ------------------------------------------------------------------------
    def rotate(self, algorithm: str = ED25519, reason: str = "") -> Any:
        """Make a new key current for ``algorithm``; the old one is retired, not revoked."""
        with self._exclusive():
            doc = self._read_fresh()
            if algorithm == ED25519 and ED25519 not in doc["current"]:
                first = keys.load_or_create(self.dir, self.passphrase)
                _add(doc, first.key_id, ED25519, keys.PRIVATE_NAME, keys.PUBLIC_NAME)
                doc["current"][ED25519] = first.key_id
            new = self._generate(algorithm)
            now = utcnow().isoformat()
            old = doc["current"].get(algorithm)
            if old is not None:
                doc["keys"][old]["retired_at"] = now
            private, public = _file_names(algorithm, new.key_id)
            _add(doc, new.key_id, algorithm, private, public, reason=reason)
            doc["current"][algorithm] = new.key_id
            self._write(doc)
            return new

    def revoke(self, key_id: str, revoked_from: datetime, reason: str) -> KeyInfo:
        """Mark ``key_id`` revoked from ``revoked_from``. The current key must be rotated first."""
        with self._exclusive():
            doc = self._read_fresh()
            known = {k.key_id: k for k in self.list()}
            if key_id not in known:
                raise NotFound(f"no key {key_id} in {self.dir}")
            if known[key_id].current:
                raise Conflict(f"key {key_id} signs now; rotate it before revoking it")
            entry = doc["keys"].setdefault(key_id, {"algorithm": known[key_id].algorithm})
            entry["revoked_from"] = revoked_from.isoformat()
            entry["revocation_reason"] = reason
            self._write(doc)
        return next(k for k in self.list() if k.key_id == key_id)

    # -- internals -----------------------------------------------------------------------
    def _load(self, key_id: str) -> Any:
        if key_id not in self._loaded:
            entry = self.document()["keys"][key_id]
            path = self.dir / entry["private_file"]
            if entry["algorithm"] == SM2:
                self._loaded[key_id] = sm2.load(path, self.passphrase)
            else:
                self._loaded[key_id] = keys._load(path, self.passphrase)
        return self._loaded[key_id]

    def _generate(self, algorithm: str) -> Any:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        if algorithm == SM2:
            tmp = self.dir / f".sm2-new-{os.getpid()}.pem"
            key = sm2.generate(tmp, self.passphrase)
            private, public = _file_names(SM2, key.key_id)
            os.rename(tmp, self.dir / private)
            _write_public(self.dir / public, key.public_pem())
            return sm2.load(self.dir / private, self.passphrase)
        if algorithm != ED25519:
            raise NotFound(f"no such key algorithm {algorithm!r}; use Ed25519 or SM2-with-SM3")
        key = Ed25519PrivateKey.generate()
        signing = keys.SigningKey(keys.key_id_of(key.public_key()), key)
        private, public = _file_names(ED25519, signing.key_id)
        encryption = (
            serialization.BestAvailableEncryption(self.passphrase.encode())
            if self.passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        if not write_file(self.dir / private, pem, mode=0o600, exclusive=True):
            raise FileExistsError(self.dir / private)  # never overwrite a key
        _write_public(self.dir / public, signing.public_pem())
        return signing

    def _remember_first(self, key: keys.SigningKey) -> None:
        if (self.dir / KEYRING).exists():
            return
        with self._exclusive():
            doc = self._read_fresh()
            if ED25519 not in doc["current"]:
                _add(doc, key.key_id, ED25519, keys.PRIVATE_NAME, keys.PUBLIC_NAME)
                doc["current"][ED25519] = key.key_id
                self._write(doc)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.dir / LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read_fresh(self) -> dict[str, Any]:
        path = self.dir / KEYRING
        return json.loads(path.read_text("utf-8")) if path.exists() else _empty()

    def _write(self, doc: dict[str, Any]) -> None:
        data = json.dumps(doc, indent=2, sort_keys=True) + "\n"
        write_file(self.dir / KEYRING, data.encode("utf-8"), mode=0o600)


def _empty() -> dict[str, Any]:
    return {"version": 1, "current": {}, "keys": {}}


def _file_names(algorithm: str, key_id: str) -> tuple[str, str]:
    if algorithm == SM2:
        return f"sm2-{key_id}-private.pem", f"sm2-{key_id}-public.pem"
    return f"ed25519-{key_id}.pem", f"ed25519-{key_id}.pub.pem"


def _add(doc: dict, kid: str, algorithm: str, private: str, public: str, reason: str = "") -> None:
    doc["keys"].setdefault(
        kid,
        {
            "algorithm": algorithm,
            "created_at": utcnow().isoformat(),
            "private_file": private,
            "public_file": public,
            "note": reason,
        },
    )


def _write_public(path: Path, pem: str) -> None:
    write_file(path, pem.encode("ascii"), mode=0o644)


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
