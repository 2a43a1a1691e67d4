"""When a record's retention period (保管期限) ends, by the archive's default rule: 1 January
of the year after the record's date, plus the period. Permanent records never end.

Kept with the AIP format because the period is part of the record's metadata and more than
one layer needs it: storage writes 10- and 30-year AIPs with an Object Lock that ends then,
and disposal (preserve.disposal.clock) decides from it which records fell due.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_YEARS = re.compile(r"^(\d{1,3})y$")


def period_years(retention: str | None) -> int | None:
    """The period in years; None for permanent or an unknown value (never ends)."""
    match = _YEARS.match(retention or "")
    return int(match.group(1)) if match else None


def record_year(record_date: str | None, year: str | None) -> int | None:
    for text in (record_date, year):
        if text and len(text) >= 4 and text[:4].isdigit():
            return int(text[:4])
    return None


def retention_end(retention: str | None, record_date: str | None, year: str | None) -> date | None:
    period = period_years(retention)
    begins = record_year(record_date, year)
    if period is None or begins is None or begins + 1 + period > 9999:
        return None
    return date(begins + 1 + period, 1, 1)


def lock_until(end: date | None) -> datetime | None:
    """The instant an Object Lock retention for a record ending on ``end`` runs to."""
    return None if end is None else datetime(end.year, end.month, end.day, tzinfo=UTC)
