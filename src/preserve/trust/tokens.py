"""API tokens: random, shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, record_event
from preserve.catalog.models import Agency, Role, Token
from preserve.errors import NotFound, Unauthorized
from preserve.trust.repository import agency_named, token_by_id, token_with_hash

TOKEN_PREFIX = "pv_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def public_id(token_hash: str) -> str:
    """How a token is named in lists and the event log: from its digest, never from its
    secret characters (a prefix of the secret would shorten every guess)."""
    return "tok_" + token_hash[:12]


def get_or_create_agency(session: Session, name: str) -> Agency:
    agency = agency_named(session, name)
    if agency is None:
        agency = Agency(name=name)
        session.add(agency)
        session.flush()
    return agency


def create_token(session: Session, agency_name: str, role: Role) -> tuple[Token, str]:
    """Return the row and the plaintext token; the plaintext is never stored."""
    agency = get_or_create_agency(session, agency_name)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    digest = hash_token(plaintext)
    token = Token(agency=agency, role=role, token_hash=digest, prefix=public_id(digest))
    session.add(token)
    session.flush()
    return token, plaintext


def authenticate(session: Session, plaintext: str) -> Token:
    token = token_with_hash(session, hash_token(plaintext))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("the bearer token is not valid")
    return token


def issue_token(session: Session, agency_name: str, role: Role, agent: str) -> tuple[Token, str]:
    """:func:`create_token`, recorded in the event log as issued by ``agent``."""
    token, plaintext = create_token(session, agency_name, role)
    _record(
        session, token, EventType.TOKEN_ISSUED, f"{role.value} token {token.prefix} issued", agent
    )
    return token, plaintext


def revoke_token(session: Session, token_id: int, now: datetime, agent: str) -> Token:
    """Revoke a token from now on (its console sessions end with it), recorded in the event
    log as revoked by ``agent``; revoking twice keeps the first time."""
    token = token_by_id(session, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
        detail = f"{token.role.value} token {token.prefix} revoked"
        _record(session, token, EventType.TOKEN_REVOKED, detail, agent)
    return token


def _record(session: Session, token: Token, kind: EventType, detail: str, agent: str) -> None:
    record_event(
        session,
        kind,
        Outcome.SUCCESS,
        object_type="agency",
        object_id=str(token.agency_id),
        agency_id=token.agency_id,
        detail=detail,
        agent=agent,
    )
