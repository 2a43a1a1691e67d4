"""Which records are due for opening review (到期开放审核), and what the reviewer is shown.

A record is due at formation + the period of its category (``opening_period_years_by_category``)
or the default period (25 years, 档案法 2020 art. 27); formation is the record's date, else
the end of its year. ``as_of`` is a parameter so that tests and reports can ask about any day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.models import Aip
from preserve.opening import metadata, repository


@dataclass(frozen=True)
class Periods:
    default_years: int = 25
    by_category: dict[str, int] | None = None

    def years_for(self, category: str | None) -> int:
        table = self.by_category or {}
        return table.get(category, self.default_years) if category else self.default_years

    @property
    def shortest(self) -> int:
        return min([self.default_years, *(self.by_category or {}).values()])


def due(session: Session, as_of: date, periods: Periods, limit: int = 100) -> list[dict[str, Any]]:
    cutoff = metadata.add_years(as_of, -periods.shortest)
    found: list[dict[str, Any]] = []
    for aip in repository.due_candidates(session, cutoff, as_of, limit * 4):
        item = review_facts(aip, periods)
        if item["due_on"] is not None and date.fromisoformat(item["due_on"]) <= as_of:
            found.append(item)
        if len(found) == limit:
            break
    return found


def review_facts(aip: Aip, periods: Periods) -> dict[str, Any]:
    """What a reviewer needs to see of one record (staff only: never on the public face)."""
    doc = aip.record_metadata if isinstance(aip.record_metadata, dict) else {}
    formed = metadata.formation_date(aip.record_date, aip.year)
    category = metadata.category(doc)
    years = periods.years_for(category)
    return {
        "aip_id": aip.id,
        "archival_code": aip.archival_code,
        "title": aip.title,
        "formed_on": formed.isoformat() if formed else None,
        "category": category,
        "period_years": years,
        "due_on": metadata.add_years(formed, years).isoformat() if formed else None,
        "classification": metadata.classification(doc),
        "classified": metadata.is_classified(doc),
        "secrecy_period": metadata.secrecy_period(doc),
        "opening_advice": metadata.opening_advice(doc),
    }
