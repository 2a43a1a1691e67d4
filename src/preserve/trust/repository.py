"""The catalogue queries of trust: tokens, the event chain, its checkpoints."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from preserve.catalog.models import Agency, Aip, ConsoleSession, Event, LogCheckpoint, Token


def agency_named(session: Session, name: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.name == name))


def token_with_hash(session: Session, token_hash: str) -> Token | None:
    return session.scalar(select(Token).where(Token.token_hash == token_hash))


def console_session(session: Session, id_hash: str) -> ConsoleSession | None:
    return session.get(ConsoleSession, id_hash)


def tokens_listed(session: Session) -> Sequence[Token]:
    return session.scalars(select(Token).order_by(Token.id.desc())).all()


def token_by_id(session: Session, token_id: int) -> Token | None:
    return session.get(Token, token_id)


def last_checkpoint(session: Session) -> LogCheckpoint | None:
    return session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.seq_to.desc()).limit(1))


def checkpoints_in_order(session: Session) -> Sequence[LogCheckpoint]:
    return session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.seq_to)).all()


def events_in_range(session: Session, after: int, last: int) -> Sequence[Event]:
    """Chained events with ``after < seq <= last``, in order."""
    stmt = select(Event).where(Event.seq > after, Event.seq <= last).order_by(Event.seq)
    return session.scalars(stmt).all()


def log_page(session: Session, after: int, limit: int) -> Sequence[Event]:
    """Up to ``limit`` chained events after position ``after``, in order."""
    stmt = select(Event).where(Event.seq > after).order_by(Event.seq).limit(limit)
    return session.scalars(stmt).all()


def chained_events(session: Session) -> Iterator[Event]:
    """Every chained event in order, streamed (the log may be long)."""
    stmt = select(Event).where(Event.seq.is_not(None)).order_by(Event.seq)
    yield from session.scalars(stmt.execution_options(yield_per=2000))


def event_at(session: Session, seq: int) -> Event | None:
    return session.scalar(select(Event).where(Event.seq == seq))


def event_with_hash(session: Session, entry_hash: str | None) -> Event | None:
    return session.scalar(select(Event).where(Event.entry_hash == entry_hash).limit(1))


def unchained_events(session: Session, limit: int) -> tuple[int, list[tuple[int, str]]]:
    """How many events are outside the chain, and (row id, uuid) of the first ``limit``."""
    count = session.scalar(select(func.count()).where(Event.seq.is_(None))) or 0
    stmt = select(Event.id, Event.uuid).where(Event.seq.is_(None)).order_by(Event.id).limit(limit)
    return count, [(row_id, uuid) for row_id, uuid in session.execute(stmt)]


def profiles_in_use(session: Session, default: str) -> list[str]:
    """The default profile and every profile an AIP or an agency names, sorted."""
    refs = {default}
    refs.update(session.scalars(select(Aip.storage_profile).distinct()))
    refs.update(r for r in session.scalars(select(Agency.storage_profile).distinct()) if r)
    return sorted(refs)
