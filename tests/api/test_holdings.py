"""``GET /v1/aips`` and ``GET /v1/sips``: filters, sorting, cursors, search and isolation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from preserve.catalog.models import Role, SipState
from support.holdings import add_record
from support.http import auth


@pytest.fixture
def officer(make_token) -> dict[str, str]:
    return auth(make_token("agency-a", Role.OFFICER))


def seed(rt, *records: dict) -> list[str]:
    with rt.sessions.begin() as session:
        return [add_record(session, **r).id for r in records]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def walk(client, url: str, headers, between=None) -> list[str]:
    """Every id over all pages, following the Link header; ``between`` runs after each page."""
    seen: list[str] = []
    while url:
        response = client.get(url, headers=headers)
        seen += ids(response)
        link = response.headers.get("link")
        assert (link is None) == (response.json()["next_cursor"] is None)
        url = link[1 : link.index(">")] if link else ""
        if between:
            between()
    return seen


def test_each_filter_selects_its_records(rt, client, officer):
    a, b, c, d = seed(
        rt,
        {"n": 1, "fonds": "A001", "year": "2023", "retention": "30y", "date": "2023-05-01"},
        {"n": 2, "fonds": "A001", "year": "2024", "date": "2024-02-01", "archival_code": "X-1"},
        {"n": 3, "fonds": "B002", "year": "2024", "retention": "10y", "puid": "fmt/43"},
        {"n": 4, "agency_name": "agency-b", "targets": ("site-b-nas",), "fixity": "failed"},
    )

    def get(**params):
        return set(ids(client.get("/v1/aips", params=params, headers=officer)))

    assert get() == {a, b, c, d}
    assert get(fonds="A001") == {a, b}
    assert get(fonds="A001", year="2024") == {b}
    assert get(retention="30y") == {a}
    assert get(date_from="2024-01-01") == {b, c, d}
    assert get(date_to="2023-12-31") == {a}
    assert get(archival_code="X-1") == {b}
    assert get(archival_code_prefix="A001-WS-2024-Y-000") == {a, c, d}
    assert get(agency="agency-b") == {d}
    assert get(puid="fmt/43") == {c}
    assert get(target="site-b-nas") == {d}
    assert get(fixity="failed") == {d}
    assert get(state="PRESERVED") == {a, b, c, d}
    assert get(state="STORED") == set()
    assert get(ingested_from="2024-01-01T00:02:00Z", ingested_to="2024-01-01T00:03:00Z") == {b, c}
    item = client.get("/v1/aips", params={"fonds": "B002"}, headers=officer).json()["items"][0]
    assert {k: item[k] for k in ("id", "archival_code", "title", "agency")} == {
        "id": c,
        "archival_code": "A001-WS-2024-Y-0003",
        "title": "Record 3",
        "agency": "agency-a",
    }


def test_sips_list_by_state_with_rejected_ones(rt, client, officer):
    stored, rejected = seed(rt, {"n": 1}, {"n": 2, "state": SipState.REJECTED, "fonds": "F"})
    with rt.sessions.begin() as session:
        from preserve.catalog.models import Aip

        stored_sip = session.get(Aip, stored).sip_id
    assert set(ids(client.get("/v1/sips", headers=officer))) == {stored_sip, rejected}
    rejected_page = client.get("/v1/sips", params={"state": "REJECTED"}, headers=officer)
    assert ids(rejected_page) == [rejected]
    assert rejected_page.json()["items"][0]["fonds"] == "F"
    assert ids(client.get("/v1/sips", params={"fonds": "F"}, headers=officer)) == [rejected]


def test_sorting_by_ingest_time_and_archival_code(rt, client, officer):
    first, second, third = seed(
        rt,
        {"n": 1, "archival_code": "C"},
        {"n": 2, "archival_code": "A"},
        {"n": 3, "archival_code": "B"},
    )
    assert ids(client.get("/v1/aips", headers=officer)) == [third, second, first]
    assert ids(client.get("/v1/aips?sort=ingested", headers=officer)) == [first, second, third]
    assert ids(client.get("/v1/aips?sort=archival_code", headers=officer)) == [second, third, first]
    assert ids(client.get("/v1/aips?sort=-archival_code", headers=officer)) == [
        first,
        third,
        second,
    ]


@pytest.mark.parametrize("sort", ["-ingested", "ingested", "archival_code", "-archival_code"])
def test_cursor_pages_skip_and_repeat_nothing_while_records_arrive(rt, client, officer, sort):
    original = set(seed(rt, *({"n": n, "archival_code": f"C-{n:03d}"} for n in range(0, 50, 2))))
    arrivals = iter(range(1, 200, 2))

    def insert_two() -> None:  # one inside the range already walked or still ahead, one newest
        seed(rt, {"n": next(arrivals), "archival_code": f"C-{next(arrivals):03d}"}, {"n": 500})

    seen = walk(client, f"/v1/aips?limit=7&sort={sort}", officer, between=insert_two)

    assert len(seen) == len(set(seen)), "a record was repeated"
    assert original <= set(seen), "a record was skipped"


def test_the_link_header_and_the_last_page(rt, client, officer):
    seed(rt, *({"n": n} for n in range(5)))
    first = client.get("/v1/aips?limit=3&fonds=", headers=officer)
    assert first.json()["next_cursor"]
    link = first.headers["link"]
    assert link.endswith('>; rel="next"')
    query = parse_qs(urlsplit(link[1 : link.index(">")]).query)
    assert query["limit"] == ["3"] and query["cursor"] == [first.json()["next_cursor"]]
    assert walk(client, "/v1/aips?limit=5", officer) == walk(client, "/v1/aips?limit=2", officer)


@pytest.mark.parametrize(
    "query",
    [
        "limit=1001",
        "limit=0",
        "cursor=not-a-cursor",
        "sort=sideways",
        "date_from=2024-13-01",
        "ingested_from=2024-01-01T00:00:00",
        "q=%20%20",
        "sort=relevance",
    ],
)
def test_bad_list_requests_are_422(rt, client, officer, query):
    response = client.get(f"/v1/aips?{query}", headers=officer)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_cursor_is_refused_by_another_list_or_sort(rt, client, officer):
    seed(rt, {"n": 1}, {"n": 2})
    cursor = client.get("/v1/aips?limit=1", headers=officer).json()["next_cursor"]
    assert (
        client.get(f"/v1/aips?cursor={cursor}&sort=archival_code", headers=officer).status_code
        == 422
    )
    assert client.get(f"/v1/sips?cursor={cursor}", headers=officer).status_code == 422


def test_search_in_chinese_and_english_names_the_matching_field(rt, client, officer):
    two_chars, longer, english, in_keywords, other = seed(
        rt,
        {"n": 1, "title": "关于2024年档案工作的通知"},
        {"n": 2, "title": "档案馆年度报告"},
        {"n": 3, "title": "Annual Report of the Records Office"},
        {"n": 4, "title": "会议纪要", "keywords": ["档案", "annual report"]},
        {"n": 5, "title": "财务报表", "description": "no match here"},
    )

    def search(q: str, path: str = "/v1/aips") -> list[dict]:
        response = client.get(path, params={"q": q}, headers=officer)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    found = search("档案")
    assert [i["id"] for i in found] == [longer, two_chars, in_keywords]  # title matches first
    assert found[2]["matched_fields"] == ["keywords"]
    assert found[0]["matched_fields"] == ["title"]
    assert [i["id"] for i in search("档案馆")] == [longer]
    assert [i["id"] for i in search("ANNUAL report")] == [english, in_keywords]
    every = [english, other, in_keywords, longer, two_chars]  # every creator is Records Office
    assert [i["id"] for i in search("Records Office")] == every
    assert search("未收录的词") == []
    assert search("%") == [] and search("_") == []
    assert len(search("档案", "/v1/sips")) == 3


def test_a_submitter_sees_only_its_agency_in_lists_and_search(rt, client, make_token):
    mine = seed(rt, {"n": 1, "title": "本机关档案"})
    seed(rt, {"n": 2, "agency_name": "agency-b", "title": "他机关档案 secret"})
    submitter = auth(make_token("agency-a", Role.SUBMITTER))
    for path in ("/v1/aips", "/v1/sips"):
        assert len(ids(client.get(path, headers=submitter))) == 1
        assert ids(client.get(path, params={"agency": "agency-b"}, headers=submitter)) == []
        assert ids(client.get(path, params={"q": "secret"}, headers=submitter)) == []
        assert len(ids(client.get(path, params={"q": "档案"}, headers=submitter))) == 1
    assert ids(client.get("/v1/aips", params={"q": "档案"}, headers=submitter)) == mine


def test_lists_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/aips"]["get"]["operationId"] == "listAips"
    assert paths["/v1/sips"]["get"]["operationId"] == "listSips"
    assert paths["/v1/statistics"]["get"]["operationId"] == "getStatistics"
