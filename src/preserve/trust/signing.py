"""Detached signatures over bytes (a bag's tag manifest, a receipt, a report, a log checkpoint).

A signature document is small JSON that names the algorithm, the key id, what was signed and
the signer's public key, so it can be verified from the store alone; an archive should still
check the key id against the keys it publishes (``GET /v1/keys``) rather than trust the
embedded key blindly.

New signatures are made, as CMS does with its signed attributes, over a canonical JSON string
carried in the document (``signed_attributes``): the algorithm, key id, file name, the file's
SHA-256 and the signing time. The time is what a key's revocation date is compared with: a
signature made by a key on or after the date it was revoked from is refused. An external
verifier checks the signature over the UTF-8 bytes of ``signed_attributes`` and that its
``sha256`` is the file's. Documents without signed attributes (the first AIPs) are signatures
over the file's bytes themselves and still verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from preserve.canonical import canonical
from preserve.catalog.types import utcnow
from preserve.errors import IntegrityError
from preserve.trust.keys import key_id_of

ALGORITHM = "Ed25519"
SM2_ALGORITHM = "SM2-with-SM3"
ALGORITHMS = (ALGORITHM, SM2_ALGORITHM)


@dataclass(frozen=True)
class Signature:
    key_id: str
    signed_file: str
    value: bytes
    public_key_pem: str
    algorithm: str = ALGORITHM
    signed_attributes: str | None = None

    @property
    def attributes(self) -> dict[str, Any]:
        if self.signed_attributes is None:
            return {}
        try:
            doc = json.loads(self.signed_attributes)
        except ValueError as exc:
            raise IntegrityError(f"signed attributes are malformed: {exc}") from exc
        if not isinstance(doc, dict):
            raise IntegrityError("signed attributes are malformed: not an object")
        return doc

    @property
    def signed_at(self) -> datetime | None:
        value = self.attributes.get("signed_at")
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (TypeError, ValueError) as exc:
            raise IntegrityError(f"signing time {value!r} is malformed") from exc

    def to_json(self) -> bytes:
        doc = {
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "signed_file": self.signed_file,
            "signature": base64.b64encode(self.value).decode("ascii"),
            "public_key": self.public_key_pem,
        }
        if self.signed_attributes is not None:
            doc["signed_attributes"] = self.signed_attributes
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Signature:
        try:
            doc = json.loads(data)
            attributes = doc.get("signed_attributes")
            if attributes is not None and not isinstance(attributes, str):
                raise TypeError("signed_attributes must be a string")
            return cls(
                key_id=doc["key_id"],
                signed_file=doc["signed_file"],
                value=base64.b64decode(doc["signature"], validate=True),
                public_key_pem=doc["public_key"],
                algorithm=doc["algorithm"],
                signed_attributes=attributes,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IntegrityError(f"signature document is malformed: {exc}") from exc


def signed_attributes(
    algorithm: str, key_id: str, data: bytes, signed_file: str, when: datetime
) -> str:
    doc = {
        "algorithm": algorithm,
        "key_id": key_id,
        "sha256": hashlib.sha256(data).hexdigest(),
        "signed_at": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "signed_file": signed_file,
    }
    return canonical(doc).decode("utf-8")


def sign(key: Any, data: bytes, signed_file: str, when: datetime | None = None) -> Signature:
    """Sign with an Ed25519 :class:`~preserve.trust.keys.SigningKey` or an SM2 key."""
    algorithm = getattr(key, "algorithm", ALGORITHM)
    attributes = signed_attributes(algorithm, key.key_id, data, signed_file, when or utcnow())
    message = attributes.encode("utf-8")
    value = key.private.sign(message) if algorithm == ALGORITHM else key.sign(message)
    return Signature(key.key_id, signed_file, value, key.public_pem(), algorithm, attributes)


def verify(
    signature: Signature,
    data: bytes,
    trusted: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Raise :class:`IntegrityError` unless ``signature`` is a valid signature over ``data``.

    With ``trusted``, the key id must be one of the archive's own keys (and, when ``trusted``
    carries revocations, the signature must predate its key's revocation; ``at`` stands in for
    the signing time of a document that carries none); without it, the key embedded in the
    document is used after checking it hashes to the key id it claims.
    """
    if signature.algorithm not in ALGORITHMS:
        raise IntegrityError(f"unsupported signature algorithm {signature.algorithm!r}")
    public = _public_key(signature, trusted)
    mismatch = IntegrityError(
        f"signature by key {signature.key_id} does not match {signature.signed_file}"
    )
    message = data if signature.signed_attributes is None else signature.signed_attributes.encode()
    if not _valid(signature, public, message):
        raise mismatch
    if signature.signed_attributes is not None:
        attrs = signature.attributes
        expected = (signature.algorithm, signature.key_id, hashlib.sha256(data).hexdigest())
        if (attrs.get("algorithm"), attrs.get("key_id"), attrs.get("sha256")) != expected:
            raise mismatch
    _check_revocation(signature, trusted, at)


def _valid(signature: Signature, public: Any, message: bytes) -> bool:
    if signature.algorithm == ALGORITHM:
        if not isinstance(public, Ed25519PublicKey):
            return False
        try:
            public.verify(signature.value, message)
        except InvalidSignature:
            return False
        return True
    from preserve.trust import sm2

    return isinstance(public, sm2.Sm2PublicKey) and public.verify(signature.value, message)


def _check_revocation(signature: Signature, trusted: Any, at: datetime | None) -> None:
    revoked_from = getattr(trusted, "revoked_from", {}).get(signature.key_id)
    if revoked_from is None:
        return
    when = signature.signed_at or at
    if when is None:
        raise IntegrityError(
            f"key {signature.key_id} is revoked from {revoked_from.isoformat()} and the "
            "signature carries no signing time"
        )
    if when >= revoked_from:
        raise IntegrityError(
            f"signature made {when.isoformat()} by key {signature.key_id}, which is revoked "
            f"from {revoked_from.isoformat()}"
        )


def _public_key(signature: Signature, trusted: dict[str, Any] | None) -> Any:
    if trusted is not None:
        if signature.key_id not in trusted:
            raise IntegrityError(f"signature names unknown key {signature.key_id}")
        return trusted[signature.key_id]
    if signature.algorithm == SM2_ALGORITHM:
        from preserve.trust import sm2

        public = sm2.Sm2PublicKey.from_pem(signature.public_key_pem)
        if public.key_id != signature.key_id:
            raise IntegrityError(f"embedded public key does not match key id {signature.key_id}")
        return public
    try:
        public = serialization.load_pem_public_key(signature.public_key_pem.encode("ascii"))
    except (ValueError, TypeError) as exc:
        raise IntegrityError(f"embedded public key is malformed: {exc}") from exc
    if not isinstance(public, Ed25519PublicKey) or key_id_of(public) != signature.key_id:
        raise IntegrityError(f"embedded public key does not match key id {signature.key_id}")
    return public


def tagmanifest_signer(key: Any, name: str) -> Callable[[bytes], bytes]:
    """What :func:`preserve.aip.bag.write_bag` signs a tag manifest with: the JSON signature
    file over the manifest's bytes, made with ``key``."""
    return lambda manifest: sign(key, manifest, name).to_json()
