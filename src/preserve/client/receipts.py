"""Verifying a signed receipt on the agency's side, with the keys the archive publishes.

The archive signs (``signed_attributes``, UTF-8) a small JSON naming the algorithm, the key id
and the SHA-256 of the receipt's canonical JSON; an older document is a signature over the
canonical JSON itself. Ed25519 is checked here; an SM2 receipt needs the server package's
verifier (``preserve receipt verify``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from preserve.client.errors import ReceiptInvalid

SIGNED_FILE = "receipt.json"


def canonical(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def trusted_keys(keys: Any) -> dict[str, Ed25519PublicKey]:
    """{key id: public key} from the JSON of ``GET /v1/keys`` (Ed25519 keys only)."""
    out = {}
    for entry in keys if isinstance(keys, list) else []:
        if entry.get("algorithm", "Ed25519") == "Ed25519":
            key = serialization.load_pem_public_key(entry["public_key_pem"].encode("ascii"))
            if isinstance(key, Ed25519PublicKey):
                out[entry["key_id"]] = key
    return out


def verify(document: Any, trusted: dict[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The receipt inside ``document``, or :class:`ReceiptInvalid` saying why not."""
    if not isinstance(document, dict) or not {"receipt", "signature"} <= set(document):
        raise ReceiptInvalid("not a receipt: expected an object with 'receipt' and 'signature'")
    sig = document["signature"]
    if sig.get("signed_file") != SIGNED_FILE:
        raise ReceiptInvalid(f"the signature is over {sig.get('signed_file')}, not a receipt")
    if sig.get("algorithm") != "Ed25519":
        raise ReceiptInvalid(f"this client checks Ed25519 receipts, not {sig.get('algorithm')}")
    key = trusted.get(sig.get("key_id", ""))
    if key is None:
        raise ReceiptInvalid(f"signature names unknown key {sig.get('key_id')}")
    data = canonical(document["receipt"])
    attributes = sig.get("signed_attributes")
    message = data if attributes is None else attributes.encode()
    mismatch = ReceiptInvalid(f"signature by key {sig['key_id']} does not match the receipt")
    try:
        key.verify(base64.b64decode(sig["signature"]), message)
    except (InvalidSignature, ValueError, KeyError):
        raise mismatch from None
    if attributes is not None:
        attrs = json.loads(attributes)
        expected = ("Ed25519", sig["key_id"], hashlib.sha256(data).hexdigest())
        if (attrs.get("algorithm"), attrs.get("key_id"), attrs.get("sha256")) != expected:
            raise mismatch
    return document["receipt"]
