"""The finding aids kept beside each SIP and AIP: filter columns and the searchable text.

Filters (fonds, year, retention, record date) and search need plain columns, not JSON paths
that each database spells differently, so they are derived from ``record_metadata`` whenever a
row is written (:func:`install` registers the ORM hooks). Search then uses what each database
does well, behind one interface (preserve.access.holdings.queries):

- SQLite: an FTS5 table per kind with the ``trigram`` tokenizer (substring matches in any
  script, 3 characters or more), kept in step by triggers;
- PostgreSQL: a ``pg_trgm`` GIN index on ``search_text``, used by ``ILIKE``.

These objects are not in the models (SQLAlchemy cannot declare a virtual table, nor an index
that exists on one dialect only); :data:`SEARCH_OBJECTS` names them for schema comparisons.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event

SEARCH_TABLES = ("sips", "aips")
PUBLIC_SEARCH_TABLES = ("public_records",)  # the open records (preserve.catalog.opening_tables)
_FTS_SHADOWS = ("data", "idx", "content", "docsize", "config")
_ALL_SEARCHED = SEARCH_TABLES + PUBLIC_SEARCH_TABLES
SEARCH_OBJECTS = frozenset(
    [f"{t}_fts" for t in _ALL_SEARCHED]
    + [f"{t}_fts_{s}" for t in _ALL_SEARCHED for s in _FTS_SHADOWS]
    + [f"ix_{t}_search_trgm" for t in _ALL_SEARCHED]
)
_ALIASES = {
    "fonds": "全宗号",
    "year": "年度",
    "retention": "保管期限",
    "title": "题名",
    "date": "日期",
    "archival_code": "档号",
}
_RETENTION = {"永久": "permanent", "30年": "30y", "10年": "10y"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_NOT_SEARCHED = frozenset({"files"})
MAX_SEARCH_TEXT = 32_000


def _field(doc: dict[str, Any], name: str, limit: int) -> str | None:
    value = doc.get(name, doc.get(_ALIASES.get(name, "")))
    if value is None or isinstance(value, dict | list) or value == "":
        return None
    return str(value).strip()[:limit] or None


def flatten(value: Any) -> list[str]:
    """Every scalar in a metadata value, as text, depth first."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in flatten(v)]
    if isinstance(value, list):
        return [s for v in value for s in flatten(v)]
    return [] if value is None else [str(value)]


def search_text(doc: dict[str, Any]) -> str:
    """The text a query is matched against: every value sent, one per line."""
    parts = [s for k, v in doc.items() if k not in _NOT_SEARCHED for s in flatten(v)]
    return "\n".join(parts)[:MAX_SEARCH_TEXT]


def matched_fields(doc: dict[str, Any], query: str) -> list[str]:
    """The metadata fields whose values contain ``query`` (case-insensitive)."""
    needle = query.casefold()
    return [
        key
        for key, value in doc.items()
        if key not in _NOT_SEARCHED and any(needle in s.casefold() for s in flatten(value))
    ]


def derived(doc: dict[str, Any] | None) -> dict[str, Any]:
    """The finding-aid columns of a record, from its metadata."""
    doc = doc if isinstance(doc, dict) else {}
    date = _field(doc, "date", 32)
    record_date = date[:10] if date and _DATE.match(date) else None
    retention = _field(doc, "retention", 32)
    return {
        "fonds": _field(doc, "fonds", 100),
        "year": _field(doc, "year", 16) or (record_date[:4] if record_date else None),
        "retention": _RETENTION.get(retention, retention) if retention else None,
        "record_date": record_date,
        "search_text": search_text(doc),
    }


def install(sip_model: type, aip_model: type) -> None:
    """Derive the columns whenever the ORM writes a SIP or an AIP."""
    for model in (sip_model, aip_model):
        event.listen(model, "before_insert", _fill)
        event.listen(model, "before_update", _fill)


def sip_derived(doc: dict[str, Any] | None) -> dict[str, Any]:
    """A SIP also carries its title and archival code (an AIP has them as columns already)."""
    values = derived(doc)
    doc = doc if isinstance(doc, dict) else {}
    values["title"] = _field(doc, "title", 2000)
    values["archival_code"] = _field(doc, "archival_code", 200)
    return values


def _fill(_mapper, _connection, target) -> None:
    is_sip = hasattr(target, "received_at")
    values = (sip_derived if is_sip else derived)(target.record_metadata)
    for name, value in values.items():
        if getattr(target, name) != value:
            setattr(target, name, value)


def create_statements(dialect: str, tables: tuple[str, ...] = SEARCH_TABLES) -> list[str]:
    """DDL for the search objects of ``tables`` (used by the migrations that made them)."""
    if dialect == "postgresql":
        return ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
            f"CREATE INDEX ix_{t}_search_trgm ON {t} USING gin (search_text gin_trgm_ops)"
            for t in tables
        ]
    if dialect == "sqlite":
        return [s for t in tables for s in _sqlite_fts(t)]
    return []


def drop_statements(dialect: str, tables: tuple[str, ...] = SEARCH_TABLES) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS ix_{t}_search_trgm" for t in tables]
    if dialect == "sqlite":
        return [
            s
            for t in tables
            for s in (
                f"DROP TRIGGER IF EXISTS {t}_fts_ai",
                f"DROP TRIGGER IF EXISTS {t}_fts_au",
                f"DROP TRIGGER IF EXISTS {t}_fts_ad",
                f"DROP TABLE IF EXISTS {t}_fts",
            )
        ]
    return []


def _sqlite_fts(table: str) -> list[str]:
    """An FTS5 table holding its own copy of the text, keyed by the row's id (an implicit rowid
    may change on VACUUM, so external content keyed by rowid would not be safe)."""
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5(id UNINDEXED, search_text, tokenize='trigram')",
        f"INSERT INTO {fts} (id, search_text) SELECT id, search_text FROM {table}",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts} (id, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_text ON {table} BEGIN "
        f"UPDATE {fts} SET search_text = new.search_text WHERE id = old.id; END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE id = old.id; END",
    ]
