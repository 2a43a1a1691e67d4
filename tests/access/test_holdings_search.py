"""Search pages are the same whichever way they were found: walking the sort order within the
window, or asking the text index past it (a window of 3 rows here, so both ways run)."""

from __future__ import annotations

import pytest

from preserve.access.holdings import search
from preserve.access.holdings.filters import Filters, Sort
from preserve.access.holdings.queries import AIPS, SIPS, code_prefix, list_page
from preserve.catalog.models import Aip
from support.holdings import add_record

TITLES = ["档案 Annual", "other", "年度档案", "ANNUAL budget", "other", "旧档案", "annual档案"]


def every_page(rt, kind, filters: Filters, sort: Sort, limit: int) -> list[str]:
    seen, cursor = [], None
    with rt.sessions() as session:
        while True:
            page = list_page(session, kind, filters, sort, limit, cursor)
            seen += [item.id for item in page.items]
            if (cursor := page.next_cursor) is None:
                return seen


@pytest.fixture
def records(rt) -> list[tuple[str, str, str]]:
    with rt.sessions.begin() as session:
        made = [add_record(session, n=n, title=t) for n, t in enumerate(TITLES)]
        return [(aip.id, aip.sip_id, aip.title) for aip in made]


@pytest.mark.parametrize("window", [3, 10_000])
@pytest.mark.parametrize("q", ["档案", "annual", "Annual budget", "missing"])
@pytest.mark.parametrize("limit", [1, 2, 100])
def test_every_match_once_in_sort_order_whichever_way_found(
    rt, records, monkeypatch, window, q, limit
):
    monkeypatch.setattr(search, "WINDOW", window)
    newest_first = [r for r in reversed(records) if q.casefold() in r[2].casefold()]
    for kind, column in ((AIPS, 0), (SIPS, 1)):
        expected = [r[column] for r in newest_first]
        for sort in (Sort.RELEVANCE, Sort.INGESTED_DESC):
            assert every_page(rt, kind, Filters(q=q), sort, limit) == expected
        oldest_first = every_page(rt, kind, Filters(q=q), Sort.INGESTED, limit)
        assert oldest_first == expected[::-1]


def test_title_matches_first_within_a_page(rt, records):
    with rt.sessions() as session:
        page = list_page(session, AIPS, Filters(q="Annual"), Sort.RELEVANCE, 100, None)
    assert [i.title for i in page.items] == ["annual档案", "ANNUAL budget", "档案 Annual"]


@pytest.mark.parametrize(
    "prefix", ["A001-WS-2024-Y-000", "A001-WS-2024-Y-0003", "a001", "A001-WS-2024-Y-000\U0010ffff"]
)
def test_a_code_prefix_is_an_exact_range(rt, records, prefix):
    with rt.sessions() as session:
        codes = session.scalars(
            Aip.__table__.select()
            .with_only_columns(Aip.archival_code)
            .where(code_prefix(Aip.archival_code, prefix))
        ).all()
        every = session.scalars(Aip.__table__.select().with_only_columns(Aip.archival_code))
        assert sorted(codes) == sorted(c for c in every if c.startswith(prefix))
