"""The retention clock: when a record's retention period (保管期限) ends.

By default a retention runs from 1 January of the year after the record's date (the archive's
usual rule: a record of 2020 kept 10 years falls due on 2031-01-01); ``record-date`` makes it
run from the record's date itself. Permanent records never fall due. Retentions are the
normalised values ingest stores (``permanent``, ``30y``, ``10y``); a decision may give any
``<n>y``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from preserve.aip.retention import period_years, record_year, retention_end
from preserve.errors import InvalidInput

PERMANENT = "permanent"
_YEARS = re.compile(r"^(\d{1,3})y$")
_SPELLINGS = {"永久": PERMANENT, "30年": "30y", "10年": "10y", "定期30年": "30y", "定期10年": "10y"}


def normalise(value: str) -> str:
    """``permanent`` or ``<n>y`` from what a person may write; anything else is refused."""
    text = _SPELLINGS.get(value.strip(), value.strip().lower())
    if text == PERMANENT:
        return text
    match = _YEARS.match(text)
    if match is None or not 1 <= int(match.group(1)) <= 500:
        raise InvalidInput(f"retention {value!r} is neither 'permanent' nor '<years>y' (1..500)")
    return text


years = period_years


def due_on(
    retention: str | None, record_date: str | None, year: str | None, start: str = "next-year"
) -> date | None:
    """The day the retention ends; None when it never does (permanent, or no date known)."""
    period = years(retention)
    begins = record_year(record_date, year)
    if period is None or begins is None:
        return None
    if start == "record-date" and record_date and len(record_date) == 10:
        try:
            day = date.fromisoformat(record_date)
        except ValueError:
            return None
        try:
            return day.replace(year=day.year + period)
        except ValueError:  # 29 February
            return date(day.year + period, 3, 1)
    return retention_end(retention, record_date, year)


def cutoff(period: int, today: date, start: str = "next-year") -> str:
    """Records of this period whose date sorts below the returned ISO string are due (a
    prefilter for SQL; :func:`due_on` decides)."""
    if start == "record-date":
        return f"{today.year - period:04d}-{today.month:02d}-{today.day:02d}~"
    return f"{today.year - period:04d}-01-01"


def now_or(clock: datetime | None) -> datetime:
    """The disposal clock's now: a configured instant (simulations), else the real time."""
    if clock is None:
        return datetime.now(UTC)
    return clock if clock.tzinfo else clock.replace(tzinfo=UTC)
