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
Both steps test the same condition, so which one answered never changes a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    column,
    func,
    literal,
    select,
    table,
    tuple_,
)
from sqlalchemy.orm import Session

WINDOW = 10_000
MIN_TRIGRAM = 3


@dataclass(frozen=True)
class Text:
    """``q`` matched against one model's ``search_text`` (and FTS5 table, on SQLite)."""

    model: type
    fts: str
    q: str

    def contains(self, dialect: str) -> ColumnElement[bool]:
        """Tested row by row; a function no text index serves, so that the planner walks the
        sort order here. The same as the index's ``ILIKE``: both lower-case text and query
        (all of Unicode on PostgreSQL, ASCII on SQLite, as their ``ILIKE`` does)."""
        find = func.instr if dialect == "sqlite" else func.strpos
        return find(func.lower(self.model.search_text), func.lower(self.q)) > 0

    def indexed(self, dialect: str) -> ColumnElement[bool] | None:
        """The condition the text index answers, or None when no index holds ``q``."""
        if len(self.q) < MIN_TRIGRAM:
            return None
        if dialect == "sqlite":
            fts = table(self.fts, column("id", String), column("search_text", String))
            phrase = '"' + self.q.replace('"', '""') + '"'
            hits = select(fts.c.id).where(fts.c.search_text.match(phrase))
            return self.model.id.in_(hits)
        ilike = self.model.search_text.ilike(_pattern(self.q), escape="\\")
        hits = select(self.model.id).where(ilike).cte("hits").prefix_with("MATERIALIZED")
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
    dialect = session.get_bind().dialect.name
    contains = text.contains(dialect)
    edge = session.execute(page.with_only_columns(*keys).offset(WINDOW - 1).limit(1)).first()
    if edge is None:  # the whole list fits in the window
        return list(session.execute(page.where(contains).limit(need)).all())
    bound = tuple_(*(literal(v, k.type) for v, k in zip(edge, keys, strict=True)))
    inside = (tuple_(*keys) >= bound) if descending else (tuple_(*keys) <= bound)
    rows = list(session.execute(page.where(inside, contains).limit(need)).all())
    if len(rows) == need:
        return rows
    beyond = (tuple_(*keys) < bound) if descending else (tuple_(*keys) > bound)
    rest = page.where(beyond, contains)
    if (indexed := text.indexed(dialect)) is not None:
        rest = rest.where(indexed)
    return rows + list(session.execute(rest.limit(need - len(rows))).all())


def title_first(items: list[Any], q: str) -> list[Any]:
    """Rank within a page: title matches first, each group in list order."""
    needle = q.casefold()
    return sorted(items, key=lambda item: needle not in (item.title or "").casefold())


def _pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
