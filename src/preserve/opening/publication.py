"""What the public sees of an open record: the publishable fields only, copied when it opens.

The list of publishable fields is a setting (``public_fields``); nothing else of the record's
metadata is ever copied to ``public_records``, so no public answer can show it, and public
search matches only these fields and the open files' text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.models import Aip
from preserve.catalog.opening_tables import PublicRecord, PublicText
from preserve.catalog.search_index import MAX_SEARCH_TEXT, flatten
from preserve.catalog.types import utcnow
from preserve.opening import repository

MAX_FULL_TEXT = 2_000_000  # characters of text kept per file
_COLUMNS = {"title", "archival_code", "fonds", "year", "retention"}


def public_fields(aip: Aip, names: list[str]) -> dict[str, Any]:
    """The publishable fields of ``aip``, each a string (or absent)."""
    doc = aip.record_metadata if isinstance(aip.record_metadata, dict) else {}
    out: dict[str, Any] = {}
    for name in names:
        if name in _COLUMNS:
            value = getattr(aip, name)
        elif name == "date":
            value = aip.record_date or doc.get("date")
        else:
            value = doc.get(name)
        if isinstance(value, dict | list):
            value = " ".join(flatten(value))
        if value not in (None, ""):
            out[name] = str(value)[:2000]
    return out


def search_text(fields: dict[str, Any], texts: list[str]) -> str:
    head = "\n".join(str(v) for v in fields.values())[:MAX_SEARCH_TEXT]
    return "\n".join([head, *texts])


def publish(session: Session, aip: Aip, names: list[str]) -> PublicRecord:
    """Put ``aip`` on the public face (its text is added by the full-text job)."""
    fields = public_fields(aip, names)
    row = repository.public_record(session, aip.id)
    if row is None:
        row = PublicRecord(id=aip.id, opened_at=utcnow())
        session.add(row)
    row.title = fields.get("title", "")
    row.fields = fields
    row.search_text = search_text(fields, [t.text for t in repository.texts_of(session, aip.id)])
    return row


def add_texts(session: Session, aip_id: str, texts: dict[str, str]) -> bool:
    """Record the text of an open record's files; False (nothing kept) when it is no longer
    open, so that a withdrawal racing the extraction job wins."""
    row = repository.public_record(session, aip_id)
    if row is None:
        return False
    for path, text in texts.items():
        existing = session.get(PublicText, (aip_id, path))
        if existing is None:
            session.add(PublicText(aip_id=aip_id, path=path, text=text[:MAX_FULL_TEXT]))
        else:
            existing.text = text[:MAX_FULL_TEXT]
    session.flush()
    row.search_text = search_text(
        row.fields, [t.text for t in repository.texts_of(session, aip_id)]
    )
    return True
