"""What a list asks for: filters, sort order and page size, checked before any SQL runs."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from preserve.errors import InvalidInput

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_QUERY = 200


class Sort(enum.StrEnum):
    INGESTED = "ingested"
    INGESTED_DESC = "-ingested"
    ARCHIVAL_CODE = "archival_code"
    ARCHIVAL_CODE_DESC = "-archival_code"
    RELEVANCE = "relevance"

    @property
    def descending(self) -> bool:
        return self.value.startswith("-") or self is Sort.RELEVANCE


class InvalidListing(InvalidInput):
    slug = "invalid-listing"
    title = "The list request is not valid"


@dataclass(frozen=True)
class Filters:
    """Every filter is optional; ``scope`` is the agency a submitter is confined to, applied
    on top of (never instead of) an ``agency`` name filter."""

    scope: int | None = None
    agency: str | None = None
    state: str | None = None
    archival_code: str | None = None
    archival_code_prefix: str | None = None
    fonds: str | None = None
    year: str | None = None
    retention: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    ingested_from: datetime | None = None
    ingested_to: datetime | None = None
    puid: str | None = None
    target: str | None = None
    fixity: str | None = None
    q: str | None = None

    def __post_init__(self) -> None:
        if self.q is not None:
            q = self.q.strip()
            if not q:
                raise InvalidListing("q must not be empty")
            if len(q) > MAX_QUERY:
                raise InvalidListing(f"q is longer than {MAX_QUERY} characters")
            object.__setattr__(self, "q", q)
        for name in ("ingested_from", "ingested_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidListing(f"{name} needs a time zone (e.g. 2024-01-01T00:00:00Z)")


def resolve_sort(sort: Sort | None, filters: Filters) -> Sort:
    """Newest first by default; by relevance when searching."""
    if sort is not None:
        if sort is Sort.RELEVANCE and filters.q is None:
            raise InvalidListing("sort=relevance needs q")
        return sort
    return Sort.RELEVANCE if filters.q is not None else Sort.INGESTED_DESC


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidListing(f"limit must be between 1 and {MAX_LIMIT}")
    return limit
