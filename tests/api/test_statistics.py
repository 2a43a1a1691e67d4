"""``GET /v1/statistics``: counts by each dimension, three formats, agency isolation."""

from __future__ import annotations

import csv
import io

import pytest

from preserve.catalog.models import Role, SipState
from support.holdings import add_record
from support.http import auth


@pytest.fixture
def holdings(rt):
    with rt.sessions.begin() as session:
        add_record(session, n=1, fonds="A001", year="2023", retention="30y")
        add_record(session, n=2, fonds="A001", year="2024", targets=("site-a-disk", "site-b-nas"))
        add_record(session, n=3, fonds="B002", year="2024", puid="fmt/43")
        add_record(session, "agency-b", n=4, fonds="A001", year="2024")
        add_record(session, n=5, state=SipState.REJECTED)


def rows(client, headers, **params) -> dict:
    response = client.get("/v1/statistics", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["by"] == params.get("by", "agency")
    return {r["key"]: (r["records"], r["files"], r["bytes"]) for r in body["rows"]}


def test_counts_by_every_dimension(rt, client, make_token, holdings):
    officer = auth(make_token("agency-a", Role.OFFICER))
    assert rows(client, officer, by="agency") == {"agency-a": (3, 3, 306), "agency-b": (1, 1, 104)}
    assert rows(client, officer, by="fonds") == {"A001": (3, 3, 307), "B002": (1, 1, 103)}
    assert rows(client, officer, by="year") == {"2023": (1, 1, 101), "2024": (3, 3, 309)}
    assert rows(client, officer, by="retention") == {"30y": (1, 1, 101), "permanent": (3, 3, 309)}
    assert rows(client, officer, by="format") == {"fmt/276": (3, 3, 307), "fmt/43": (1, 1, 103)}
    assert rows(client, officer, by="target") == {
        "site-a-disk": (4, 4, 410),
        "site-b-nas": (1, 1, 102),
    }
    assert rows(client, officer, by="state") == {"PRESERVED": (4, 4, 410), "REJECTED": (1, 1, 105)}
    assert rows(client, officer, by="fonds", agency="agency-b") == {"A001": (1, 1, 104)}


def test_a_submitter_counts_only_its_own_agency(rt, client, make_token, holdings):
    submitter = auth(make_token("agency-b", Role.SUBMITTER))
    assert rows(client, submitter, by="agency") == {"agency-b": (1, 1, 104)}
    assert rows(client, submitter, by="state") == {"PRESERVED": (1, 1, 104)}
    assert rows(client, submitter, by="fonds", agency="agency-a") == {}


def test_csv_and_html_carry_the_same_numbers(rt, client, make_token, holdings):
    officer = auth(make_token("agency-a", Role.OFFICER))
    response = client.get("/v1/statistics?by=fonds&format=csv", headers=officer)
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert table == [
        {"key": "A001", "records": "3", "files": "3", "bytes": "307"},
        {"key": "B002", "records": "1", "files": "1", "bytes": "103"},
    ]
    page = client.get("/v1/statistics?by=fonds&format=html", headers=officer)
    assert page.headers["content-type"].startswith("text/html")
    row = '<td>A001</td><td class="n">3</td><td class="n">3</td><td class="n">307 B</td>'
    assert row + '<td class="n">307</td>' in page.text  # human units, and the exact count


def test_unknown_dimension_is_422(rt, client, make_token):
    response = client.get("/v1/statistics?by=colour", headers=auth(make_token()))
    assert response.status_code == 422
