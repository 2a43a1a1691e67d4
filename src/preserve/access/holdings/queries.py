"""The SQL of lists and search over SIPs and AIPs (one query interface over both databases).

A page is read in two steps: the ids and sort keys of the page (a keyset query that the
indexes ending in the sort key answer without sorting, preserve.catalog.models), then the rows
of those ids alone. Search (preserve.access.holdings.search) walks the same sort order and
checks each row's text, falling back to the text index when matches are rare. Search pages are
in the list's sort order (newest first by default); within a page, title matches come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session, defer

from preserve.access.holdings import cursor as cursors
from preserve.access.holdings import search
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
    keys = _sort_keys(kind, sort)
    stmt = select(kind.model.id, *keys).where(*_conditions(kind, filters))
    if cursor is not None:
        after = cursors.decode(cursor, kind.name, sort.value, len(keys))
        stmt = stmt.where(_after(keys, after, sort.descending))
    order = [k.desc() if sort.descending else k.asc() for k in keys]
    stmt = stmt.order_by(*order)
    if filters.q is None:
        rows = list(session.execute(stmt.limit(limit + 1)).all())
    else:
        text = search.Text(kind.model, kind.fts, filters.q)
        rows = search.matching(session, stmt, text, keys, sort.descending, limit + 1)
    items = _rows(session, kind, [row[0] for row in rows[:limit]], filters.q is not None)
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cursors.encode(kind.name, sort.value, list(rows[limit - 1][1:]))
    if filters.q is None:
        return Page(items, next_cursor)
    items = search.title_first(items, filters.q)
    matched = {item.id: matched_fields(item.record_metadata, filters.q) for item in items}
    return Page(items, next_cursor, matched)


def _rows(session: Session, kind: Kind, ids: list[str], metadata: bool) -> list[Any]:
    """The rows of ``ids``, in that order; the metadata only when it is shown (search)."""
    if not ids:
        return []
    model = kind.model
    hidden = [defer(model.search_text)] + ([] if metadata else [defer(model.record_metadata)])
    stmt = select(model).where(model.id.in_(ids)).options(*hidden)
    found = {row.id: row for row in session.scalars(stmt).unique()}
    return [found[i] for i in ids if i in found]


def _after(keys: list[ColumnElement], after: list[Any], descending: bool) -> ColumnElement[bool]:
    bound = tuple_(*(literal(v, k.type) for v, k in zip(after, keys, strict=True)))
    return tuple_(*keys) < bound if descending else tuple_(*keys) > bound


def _sort_keys(kind: Kind, sort: Sort) -> list[ColumnElement]:
    model = kind.model
    if sort in (Sort.ARCHIVAL_CODE, Sort.ARCHIVAL_CODE_DESC):
        code = model.archival_code if kind is AIPS else func.coalesce(model.archival_code, "")
        return [code.label("k_code"), model.id.label("k_id")]
    return [kind.ingested.label("k_time"), model.id.label("k_id")]


def code_prefix(column: ColumnElement, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as an index range in code-point order: every string
    that starts with ``prefix`` lies in [prefix, prefix with its last character incremented)."""
    rest = prefix.rstrip("\U0010ffff")
    if not rest:
        return column >= prefix
    after = ord(rest[-1]) + 1
    upper = rest[:-1] + chr(0xE000 if 0xD800 <= after < 0xE000 else after)
    return (column >= prefix) & (column < upper)


def _conditions(kind: Kind, f: Filters) -> list[ColumnElement[bool]]:
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
        out.append(code_prefix(model.archival_code, f.archival_code_prefix))
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
