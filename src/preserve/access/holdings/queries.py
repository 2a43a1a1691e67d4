"""The SQL of lists and search over SIPs and AIPs (one query interface over both databases).

Search matches ``q`` as a substring of the record's metadata text (preserve.catalog.search_index):
on SQLite through the FTS5 trigram index for queries of 3 characters or more, and by a scan for
shorter ones (trigram indexes cannot hold them; a two-character Chinese word such as 档案 must
still match); on PostgreSQL with ``ILIKE``, which the ``pg_trgm`` GIN index serves. Results are
ranked: a match in the title before a match elsewhere, then newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    case,
    column,
    exists,
    func,
    literal,
    select,
    table,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from preserve.access.holdings import cursor as cursors
from preserve.access.holdings.filters import Filters, InvalidListing, Sort
from preserve.catalog.models import Agency, Aip, File, Replica, Sip
from preserve.catalog.search_index import matched_fields


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    ingested: InstrumentedAttribute
    fts: str


AIPS = Kind("aip", Aip, Aip.created_at, "aips_fts")
SIPS = Kind("sip", Sip, Sip.received_at, "sips_fts")


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    matched: dict[str, list[str]] = field(default_factory=dict)


def list_page(
    session: Session, kind: Kind, filters: Filters, sort: Sort, limit: int, cursor: str | None
) -> Page:
    """One page of ``kind`` rows matching ``filters``, in ``sort`` order, after ``cursor``."""
    keys = _sort_keys(kind, sort, filters.q)
    stmt = select(kind.model, *keys).where(*_conditions(session, kind, filters))
    if cursor is not None:
        after = cursors.decode(cursor, kind.name, sort.value, len(keys))
        bound = tuple_(*(literal(v, k.type) for v, k in zip(after, keys, strict=True)))
        stmt = stmt.where(tuple_(*keys) < bound if sort.descending else tuple_(*keys) > bound)
    order = [k.desc() if sort.descending else k.asc() for k in keys]
    rows = session.execute(stmt.order_by(*order).limit(limit + 1)).unique().all()
    items = [row[0] for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cursors.encode(kind.name, sort.value, list(rows[limit - 1][1:]))
    matched = {}
    if filters.q is not None:
        matched = {item.id: matched_fields(item.record_metadata, filters.q) for item in items}
    return Page(items, next_cursor, matched)


def _sort_keys(kind: Kind, sort: Sort, q: str | None) -> list[ColumnElement]:
    model = kind.model
    if sort in (Sort.ARCHIVAL_CODE, Sort.ARCHIVAL_CODE_DESC):
        code = model.archival_code if kind is AIPS else func.coalesce(model.archival_code, "")
        return [code.label("k_code"), model.id.label("k_id")]
    time = [kind.ingested.label("k_time"), model.id.label("k_id")]
    if sort is Sort.RELEVANCE and q is not None:
        in_title = func.coalesce(model.title, "").ilike(_contains(q), escape="\\")
        return [case((in_title, 2), else_=1).label("k_rank"), *time]
    return time


def _contains(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(session: Session, kind: Kind, f: Filters) -> list[ColumnElement[bool]]:
    model = kind.model
    out: list[ColumnElement[bool]] = []
    if f.scope is not None:
        out.append(model.agency_id == f.scope)
    if f.agency is not None:
        agency_id = select(Agency.id).where(Agency.name == f.agency).scalar_subquery()
        out.append(model.agency_id == agency_id)
    for name in ("archival_code", "fonds", "year", "retention"):
        if (value := getattr(f, name)) is not None:
            out.append(getattr(model, name) == value)
    if f.archival_code_prefix is not None:
        out.append(model.archival_code.startswith(f.archival_code_prefix, autoescape=True))
    if f.date_from is not None:
        out.append(model.record_date >= f.date_from.isoformat())
    if f.date_to is not None:
        out.append(model.record_date <= f.date_to.isoformat())
    if f.ingested_from is not None:
        out.append(kind.ingested >= f.ingested_from)
    if f.ingested_to is not None:
        out.append(kind.ingested <= f.ingested_to)
    if f.state is not None:
        out.append(_state(kind, f.state))
    out.extend(_copies(kind, f))
    if f.q is not None:
        out.append(_search(session, kind, f.q))
    return out


def _state(kind: Kind, state: str) -> ColumnElement[bool]:
    """An AIP's state is its SIP's: STORED until its copies are verified, then PRESERVED."""
    if kind is SIPS:
        return Sip.state == state
    return exists().where(Sip.id == Aip.sip_id, Sip.state == state)


def _copies(kind: Kind, f: Filters) -> list[ColumnElement[bool]]:
    if f.puid is None and f.target is None and f.fixity is None:
        return []
    if kind is not AIPS:
        raise InvalidListing("puid, target and fixity filter AIPs, not SIPs")
    out = []
    if f.puid is not None:
        out.append(exists().where(File.aip_id == Aip.id, File.puid == f.puid))
    if f.target is not None or f.fixity is not None:
        replica = [Replica.aip_id == Aip.id]
        if f.target is not None:
            replica.append(Replica.target == f.target)
        if f.fixity is not None:
            replica.append(Replica.last_audit_outcome == f.fixity)
        out.append(exists().where(*replica))
    return out


def _search(session: Session, kind: Kind, q: str) -> ColumnElement[bool]:
    model = kind.model
    if session.get_bind().dialect.name == "sqlite" and len(q) >= 3:
        fts = table(kind.fts, column("id", String), column("search_text", String))
        phrase = '"' + q.replace('"', '""') + '"'
        return model.id.in_(select(fts.c.id).where(fts.c.search_text.match(phrase)))
    return model.search_text.ilike(_contains(q), escape="\\")
