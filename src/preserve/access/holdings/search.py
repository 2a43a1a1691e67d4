"""Search pages that cost a bounded amount of work however common or rare the query is.

A search page is a list page whose rows also contain ``q``, in the list's sort order. Two ways
to find them, chosen per page:

1. walk the sort order (the same index a list page reads) and test each row's text, for at most
   :data:`WINDOW` rows: a common query fills its page after a few hundred rows;
2. past the window, ask the text index for the rows that match and sort those: a query that did
   not fill a page within the window matches less than ``page / WINDOW`` of the rows, so the
   text index hands back few of them.

The text index is SQLite's FTS5 trigram table for queries of 3 characters or more, PostgreSQL's
``pg_trgm`` GIN index (used by ``ILIKE``) likewise; shorter queries (a two-character Chinese
word such as 档案) have no trigram, so step 2 tests the remaining rows' text one by one.
Both steps test the same condition (``ILIKE``), so which one answered never changes a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, String, column, literal, select, table, tuple_
from sqlalchemy.orm import Session

WINDOW = 10_000
MIN_TRIGRAM = 3


@dataclass(frozen=True)
class Text:
    """``q`` matched against one model's ``search_text`` (and FTS5 table, on SQLite)."""

    model: type
    fts: str
    q: str

    def contains(self) -> ColumnElement[bool]:
        return self.model.search_text.ilike(_pattern(self.q), escape="\\")

    def indexed(self, dialect: str) -> ColumnElement[bool] | None:
        """The condition the text index answers, or None when no index holds ``q``."""
        if len(self.q) < MIN_TRIGRAM:
            return None
        if dialect == "sqlite":
            fts = table(self.fts, column("id", String), column("search_text", String))
            phrase = '"' + self.q.replace('"', '""') + '"'
            hits = select(fts.c.id).where(fts.c.search_text.match(phrase))
            return self.model.id.in_(hits)
        hits = select(self.model.id).where(self.contains()).cte("hits").prefix_with("MATERIALIZED")
        return self.model.id.in_(select(hits.c.id))


def matching(
    session: Session,
    page: Select,
    text: Text,
    keys: list[ColumnElement],
    descending: bool,
    need: int,
) -> list[Row]:
    """The first ``need`` rows of ``page`` (ordered, unlimited) whose text contains ``q``."""
    edge = session.execute(page.with_only_columns(*keys).offset(WINDOW - 1).limit(1)).first()
    if edge is None:  # the whole list fits in the window
        return list(session.execute(page.where(text.contains()).limit(need)).all())
    bound = tuple_(*(literal(v, k.type) for v, k in zip(edge, keys, strict=True)))
    inside = (tuple_(*keys) >= bound) if descending else (tuple_(*keys) <= bound)
    rows = list(session.execute(page.where(inside, text.contains()).limit(need)).all())
    if len(rows) == need:
        return rows
    beyond = (tuple_(*keys) < bound) if descending else (tuple_(*keys) > bound)
    rest = page.where(beyond, text.contains())
    if (indexed := text.indexed(session.get_bind().dialect.name)) is not None:
        rest = rest.where(indexed)
    return rows + list(session.execute(rest.limit(need - len(rows))).all())


def title_first(items: list[Any], q: str) -> list[Any]:
    """Rank within a page: title matches first, each group in list order."""
    needle = q.casefold()
    return sorted(items, key=lambda item: needle not in (item.title or "").casefold())


def _pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
