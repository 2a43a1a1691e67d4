"""Detached signatures over bytes (a bag's tag manifest, a receipt, a report).

A signature document is small JSON that names the algorithm, the key id, what was signed and
the signer's public key, so it can be verified from the store alone; an archive should still
check the key id against the keys it publishes (``GET /v1/keys``) rather than trust the
embedded key blindly.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from preserve.errors import IntegrityError
from preserve.trust.keys import SigningKey, key_id_of

ALGORITHM = "Ed25519"


@dataclass(frozen=True)
class Signature:
    key_id: str
    signed_file: str
    value: bytes
    public_key_pem: str
    algorithm: str = ALGORITHM

    def to_json(self) -> bytes:
        doc = {
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "signed_file": self.signed_file,
            "signature": base64.b64encode(self.value).decode("ascii"),
            "public_key": self.public_key_pem,
        }
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Signature:
        try:
            doc = json.loads(data)
            return cls(
                key_id=doc["key_id"],
                signed_file=doc["signed_file"],
                value=base64.b64decode(doc["signature"], validate=True),
                public_key_pem=doc["public_key"],
                algorithm=doc["algorithm"],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"signature document is malformed: {exc}") from exc


def sign(key: SigningKey, data: bytes, signed_file: str) -> Signature:
    return Signature(key.key_id, signed_file, key.private.sign(data), key.public_pem())


def verify(
    signature: Signature, data: bytes, trusted: dict[str, Ed25519PublicKey] | None = None
) -> None:
    """Raise :class:`IntegrityError` unless ``signature`` is a valid signature over ``data``.

    With ``trusted``, the key id must be one of the archive's own keys; without it, the key
    embedded in the document is used after checking it hashes to the key id it claims.
    """
    if signature.algorithm != ALGORITHM:
        raise IntegrityError(f"unsupported signature algorithm {signature.algorithm!r}")
    public = _public_key(signature, trusted)
    try:
        public.verify(signature.value, data)
    except InvalidSignature:
        raise IntegrityError(
            f"signature by key {signature.key_id} does not match {signature.signed_file}"
        ) from None


def _public_key(
    signature: Signature, trusted: dict[str, Ed25519PublicKey] | None
) -> Ed25519PublicKey:
    if trusted is not None:
        if signature.key_id not in trusted:
            raise IntegrityError(f"signature names unknown key {signature.key_id}")
        return trusted[signature.key_id]
    public = serialization.load_pem_public_key(signature.public_key_pem.encode("ascii"))
    if not isinstance(public, Ed25519PublicKey) or key_id_of(public) != signature.key_id:
        raise IntegrityError(f"embedded public key does not match key id {signature.key_id}")
    return public
