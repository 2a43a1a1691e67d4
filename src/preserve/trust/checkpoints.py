"""Signed checkpoints of the event chain, written as objects to every store.

A checkpoint covers the entries after the previous checkpoint up to the head: their content
digests in order, the head hash they fold to, the count and the time, signed with the archive
key. It is written to every target of every storage profile in use under
``log/checkpoints/<seq_to, 12 digits>.json``, so the evidence lives where the records live and
an intruder who rewrites the database (even re-hashing the whole chain) cannot rewrite it.

One is due every ``PRESERVE_CHECKPOINT_EVERY_EVENTS`` events or ``..._EVERY_MINUTES`` minutes
after the first event it would cover: committing events arms the ``trust.checkpoint`` job.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from preserve.canonical import JCS, canonical_for
from preserve.catalog.chain import (
    GENESIS,
    content_digest,
    fold,
    timestamp,
)
from preserve.catalog.models import LogCheckpoint, LogHead
from preserve.catalog.types import utcnow
from preserve.errors import IntegrityError
from preserve.storage.base import ObjectExists, StorageError, Store, read_bytes
from preserve.trust.repository import events_in_range, last_checkpoint
from preserve.trust.signing import Signature, sign, verify

PREFIX = "log/checkpoints/"


CHECKPOINT_VERSION = 2
"""2: signed over RFC 8785 (JCS); 1: over the legacy form, still verified as such."""


def signed_bytes(body: dict[str, Any]) -> bytes:
    """What a checkpoint's signature covers, by the version the checkpoint declares."""
    return canonical_for(JCS if body.get("v", 1) >= 2 else None, body)


def checkpoint_key(seq_to: int) -> str:
    return f"{PREFIX}{seq_to:012d}.json"


@dataclass(frozen=True)
class Checkpoint:
    body: dict[str, Any]
    signature: Signature

    @property
    def seq_from(self) -> int:
        return int(self.body["seq_from"])

    @property
    def seq_to(self) -> int:
        return int(self.body["seq_to"])

    @property
    def head(self) -> str:
        return str(self.body["head"])

    @property
    def digests(self) -> list[str]:
        return list(self.body["digests"])

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(str(self.body["time"]).replace("Z", "+00:00"))

    def to_bytes(self) -> bytes:
        doc = {"checkpoint": self.body, "signature": json.loads(self.signature.to_json())}
        return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        try:
            doc = json.loads(data)
            body, sig = doc["checkpoint"], doc["signature"]
            if not isinstance(body, dict):
                raise TypeError("checkpoint is not an object")
            checkpoint = cls(body, Signature.from_json(json.dumps(sig).encode()))
            _ = (checkpoint.seq_from, checkpoint.seq_to, checkpoint.head, checkpoint.digests)
            _ = checkpoint.time
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"checkpoint document is malformed: {exc}") from exc
        return checkpoint

    def check(self, trusted: Any) -> None:
        """Signature by a trusted key (not revoked at its time) and a consistent fold."""
        verify(self.signature, signed_bytes(self.body), trusted, at=self.time)
        if len(self.digests) != self.seq_to - self.seq_from + 1:
            raise IntegrityError(f"checkpoint {self.seq_to}: count does not match its range")
        if fold(str(self.body["prev_head"]), self.digests) != self.head:
            raise IntegrityError(f"checkpoint {self.seq_to}: digests do not fold to its head")


def build(session: Session, key: Any) -> Checkpoint | None:
    """A signed checkpoint of the entries after the last one, or None when there are none."""
    last = last_checkpoint(session)
    head = session.get(LogHead, 1)
    start = last.seq_to if last else 0
    if head is None or head.seq <= start:
        return None
    rows = events_in_range(session, start, head.seq)
    body = {
        "v": CHECKPOINT_VERSION,
        "seq_from": start + 1,
        "seq_to": head.seq,
        "count": head.seq - start,
        "prev_head": last.head_hash if last else GENESIS,
        "head": head.entry_hash,
        "time": timestamp(utcnow()),
        "digests": [content_digest(r) for r in rows],
    }
    checkpoint = Checkpoint(body, sign(key, signed_bytes(body), checkpoint_key(head.seq)))
    checkpoint.check({key.key_id: key.public})
    session.add(
        LogCheckpoint(
            seq_from=checkpoint.seq_from,
            seq_to=checkpoint.seq_to,
            head_hash=checkpoint.head,
            key_id=key.key_id,
            created_at=checkpoint.time,
            document=checkpoint.to_bytes().decode("utf-8"),
            stored_on=[],
        )
    )
    session.flush()
    return checkpoint


def write_to(store: Store, checkpoint: Checkpoint) -> None:
    """Write once; an object already there must be the same checkpoint."""
    key = checkpoint_key(checkpoint.seq_to)
    data = checkpoint.to_bytes()
    try:
        store.put(key, io.BytesIO(data))
    except ObjectExists:
        if read_bytes(store, key) != data:
            raise IntegrityError(f"{store.name}: {key} exists with other content") from None
    if read_bytes(store, key) != data:
        raise StorageError(f"{store.name}: read-back of {key} differs")


def read_from(store: Store) -> dict[int, bytes]:
    """Every checkpoint object in ``store``, by the seq_to in its name."""
    found: dict[int, bytes] = {}
    for key in store.list(PREFIX):
        name = key.removeprefix(PREFIX).removesuffix(".json")
        if name.isdigit():
            found[int(name)] = read_bytes(store, key)
    return found
