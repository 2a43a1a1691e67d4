"""Web console sessions: a token is exchanged once for a random session id.

The browser holds the session id in an ``HttpOnly`` cookie; the catalogue holds only its
SHA-256 (as for tokens), so neither the table nor a log line can sign anyone in. A session ends
after ``idle`` without a request, ``absolute`` after sign-in, on sign-out, or when its token is
revoked. The CSRF token is an HMAC of the session id: bound to the session, nothing to store.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from preserve.catalog.models import ConsoleSession
from preserve.trust import repository
from preserve.trust.tokens import authenticate


def digest(session_id: str) -> str:
    return hashlib.sha256(b"console-session:" + session_id.encode("utf-8")).hexdigest()


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode("utf-8"), b"csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_id: str, offered: str | None) -> bool:
    return bool(offered) and hmac.compare_digest(csrf_token(session_id), offered or "")


def sign_in(
    session: Session, plaintext_token: str, now: datetime, absolute: timedelta
) -> tuple[str, ConsoleSession]:
    """A new session for a valid token (else :class:`Unauthorized`, the same for an unknown
    and a revoked token): ``(session id, row)``; the id is returned once, never stored."""
    token = authenticate(session, plaintext_token)
    session_id = secrets.token_urlsafe(32)
    row = ConsoleSession(
        id_hash=digest(session_id),
        token_id=token.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + absolute,
    )
    row.token = token
    session.add(row)
    session.flush()
    return session_id, row


def current(
    session: Session, session_id: str | None, now: datetime, idle: timedelta
) -> ConsoleSession | None:
    """The live session for this id, its idle clock restarted; None if there is none."""
    if not session_id or len(session_id) > 100:
        return None
    row = repository.console_session(session, digest(session_id))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + idle <= now or row.token.revoked_at is not None:
        return None
    row.last_seen_at = now
    session.flush()
    return row


def sign_out(session: Session, session_id: str | None, now: datetime) -> bool:
    if not session_id or len(session_id) > 100:
        return False
    row = repository.console_session(session, digest(session_id))
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = now
    session.flush()
    return True
