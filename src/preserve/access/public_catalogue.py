"""What the public face reads: open records only, by construction.

Every query here starts from ``public_records`` (preserve.catalog.opening_tables), which holds a
row only while a record is open; a controlled, restricted or withdrawn record has no row, so
it answers exactly like an id that never existed (:class:`PublicNotFound`, one fixed message).
Search is the holdings search (preserve.access.holdings.search: the same walk of the sort
order and the same text indexes) over the open records' publishable fields and full text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import literal, select, tuple_
from sqlalchemy.orm import Session

from preserve.access.holdings import cursor as cursors
from preserve.access.holdings import search
from preserve.access.holdings.filters import MAX_QUERY, InvalidListing
from preserve.access.sources import AipRecord, record_of
from preserve.catalog.models import Aip, File
from preserve.catalog.opening_tables import PublicRecord, PublicText
from preserve.errors import NotFound

KIND = "public"
SORT = "-opened"
PASSAGE = 80  # characters either side of a match
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_id(value: str) -> bool:
    """An id as the archive makes them (a UUID); anything else names nothing."""
    return bool(_ID.match(value))


class PublicNotFound(NotFound):
    """The same answer for an unknown id and for a record that is not open."""

    def __init__(self) -> None:
        super().__init__("not found")


@dataclass
class PublicPage:
    items: list[PublicRecord]
    next_cursor: str | None
    passages: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> path, passage


def check_query(q: str | None) -> str | None:
    if q is None:
        return None
    q = q.strip()
    if not q:
        return None
    if len(q) > MAX_QUERY:
        raise InvalidListing(f"q is longer than {MAX_QUERY} characters")
    if any(ord(c) < 32 for c in q):
        raise InvalidListing("q must not contain control characters")
    return q


def search_page(session: Session, q: str | None, limit: int, cursor: str | None) -> PublicPage:
    """Open records, newest opened first, whose publishable fields or full text contain ``q``."""
    q = check_query(q)
    keys = [PublicRecord.opened_at.label("k_time"), PublicRecord.id.label("k_id")]
    stmt = select(PublicRecord.id, *keys)
    if cursor is not None:
        after = cursors.decode(cursor, KIND, SORT, len(keys))
        bound = tuple_(*(literal(v, k.type) for v, k in zip(after, keys, strict=True)))
        stmt = stmt.where(tuple_(*keys) < bound)
    stmt = stmt.order_by(*(k.desc() for k in keys))
    if q is None:
        rows = list(session.execute(stmt.limit(limit + 1)).all())
    else:
        text = search.Text(PublicRecord, "public_records_fts", q)
        rows = search.matching(session, stmt, text, keys, True, limit + 1)
    ids = [row[0] for row in rows[:limit]]
    found = {r.id: r for r in session.scalars(select(PublicRecord).where(PublicRecord.id.in_(ids)))}
    items = [found[i] for i in ids if i in found]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cursors.encode(KIND, SORT, list(rows[limit - 1][1:]))
    page = PublicPage(items, next_cursor)
    if q is not None:
        page.items = search.title_first(items, q)
        page.passages = _passages(session, [i.id for i in items], q)
    return page


def _passages(session: Session, ids: list[str], q: str) -> dict[str, dict[str, str]]:
    """The first passage of an open file's text that contains ``q``, per record."""
    if not ids:
        return {}
    out: dict[str, dict[str, str]] = {}
    stmt = select(PublicText).where(PublicText.aip_id.in_(ids)).order_by(PublicText.path)
    needle = q.casefold()
    for text in session.scalars(stmt):
        if text.aip_id in out:
            continue
        at = text.text.casefold().find(needle)
        if at >= 0:
            start, end = max(0, at - PASSAGE), min(len(text.text), at + len(q) + PASSAGE)
            passage = " ".join(text.text[start:end].split())
            out[text.aip_id] = {"path": text.path, "passage": passage}
    return out


def get_record(session: Session, record_id: str) -> PublicRecord:
    row = session.get(PublicRecord, record_id) if is_id(record_id) else None
    if row is None:
        raise PublicNotFound()
    return row


def record_files(session: Session, record_id: str) -> list[File]:
    get_record(session, record_id)
    stmt = select(File).where(File.aip_id == record_id).order_by(File.path)
    return list(session.scalars(stmt))


def load_open_record(session: Session, record_id: str) -> AipRecord:
    """The AIP of an open record, for serving its files from a verified copy."""
    get_record(session, record_id)
    aip = session.get(Aip, record_id)
    if aip is None:
        raise PublicNotFound()
    return record_of(aip)
