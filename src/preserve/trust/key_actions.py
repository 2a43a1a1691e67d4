"""Rotating and revoking the archive's keys, each on record in the event log: one service for
``preserve keys`` and the security officer's console page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, record_event
from preserve.trust.keyring import KeyInfo, Keyring


def record_key_event(
    session: Session, type_: EventType, key_id: str, detail: str, agent: str
) -> None:
    record_event(
        session,
        type_,
        Outcome.SUCCESS,
        object_type="key",
        object_id=key_id,
        detail=detail,
        agent=agent,
    )


def rotate_key(
    keyring: Keyring, session: Session, algorithm: str, old: str | None, reason: str, agent: str
) -> Any:
    """A new current key for ``algorithm``; ``old`` (the key it replaces) keeps verifying."""
    new = keyring.rotate(algorithm, reason=reason)
    detail = f"{algorithm} key {old} → {new.key_id}: {reason}"
    record_key_event(session, EventType.KEY_ROTATION, new.key_id, detail, agent)
    return new


def revoke_key(
    keyring: Keyring, session: Session, key_id: str, since: datetime, reason: str, agent: str
) -> KeyInfo:
    """Signatures by ``key_id`` made on or after ``since`` are refused from now on."""
    info = keyring.revoke(key_id, since, reason)
    detail = f"revoked from {since.isoformat()}: {reason}"
    record_key_event(session, EventType.KEY_REVOCATION, key_id, detail, agent)
    return info
