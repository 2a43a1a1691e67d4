"""The archive's signing key (Ed25519).

Made on first use under ``<data_dir>/keys/``: the private key in PKCS#8 PEM with mode 0600 in
a 0700 directory (encrypted when ``PRESERVE_KEY_PASSPHRASE`` is set), the public key beside it.
The key id is the first 16 hex digits of the SHA-256 of the raw public key, so anyone holding
the public key can recompute it; every signature names it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from preserve.durable import write_file
from preserve.errors import ConfigurationError

PRIVATE_NAME = "archive-ed25519.pem"
PUBLIC_NAME = "archive-ed25519.pub.pem"


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def public_pem(self) -> str:
        return public_pem(self.public)


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_or_create(keys_dir: Path, passphrase: str | None = None) -> SigningKey:
    private_path = keys_dir / PRIVATE_NAME
    if private_path.exists():
        return _load(private_path, passphrase)
    return _create(keys_dir, passphrase)


def _load(path: Path, passphrase: str | None) -> SigningKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigurationError(
            f"archive key {path} is readable by others (mode {mode:o}); run chmod 600 on it"
        )
    try:
        key = serialization.load_pem_private_key(
            path.read_bytes(), password=passphrase.encode() if passphrase else None
        )
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"cannot load archive key {path}: wrong or missing PRESERVE_KEY_PASSPHRASE?"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"archive key {path} is not an Ed25519 key")
    return SigningKey(key_id_of(key.public_key()), key)


def _create(keys_dir: Path, passphrase: str | None) -> SigningKey:
    """Make the key under a temporary name and link it into place: when several processes
    start together on a fresh data directory, one wins and the others load its key."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    key = Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    if not write_file(keys_dir / PRIVATE_NAME, pem, mode=0o600, exclusive=True):
        return _load(keys_dir / PRIVATE_NAME, passphrase)  # another process made it first
    _write_public(keys_dir / PUBLIC_NAME, key.public_key())
    return SigningKey(key_id_of(key.public_key()), key)


def _write_public(path: Path, public: Ed25519PublicKey) -> None:
    write_file(path, public_pem(public).encode("ascii"), mode=0o644)


def load_public_keys(keys_dir: Path) -> dict[str, Ed25519PublicKey]:
    """Every public key this archive has used, by key id."""
    found: dict[str, Ed25519PublicKey] = {}
    for path in sorted(keys_dir.glob("*.pub.pem")):
        pub = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(pub, Ed25519PublicKey):
            found[key_id_of(pub)] = pub
    return found
