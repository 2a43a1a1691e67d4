"""Before a record is approved, no public answer reveals it; a field not listed as publishable
never appears; a withdrawn record vanishes from every public answer at once.

The walk asks every public endpoint (JSON and pages) with the ids, titles, archival codes and
file text of records at every stage short of open (controlled, pending review, review failed,
reviewed but not approved, restricted) and expects nothing: a hidden id must answer exactly as
an unknown id does (status, headers that matter, body with the id swapped).
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from sqlalchemy import select

from preserve.catalog.opening_tables import PublicText
from preserve.opening import catalogue
from support.ingest import ingest
from support.opening import People, open_records, propose, text_pdf

OLD = {"date": "1990-05-01", "year": "1990"}
ID_PATHS = [
    "/public/v1/records/{id}",
    "/public/v1/records/{id}/files/doc.pdf",
    "/public/v1/records/{id}/files/notes.txt",
    "/public/v1/records/{id}/signature",
    "/public/v1/catalogues/{id}",
    "/public/v1/catalogues/{id}/csv",
    "/public/records/{id}",
    "/public/records/{id}/read/doc.pdf",
    "/public/catalogues/{id}",
]
HIDDEN_FIELDS = {
    "note": "HIDDENNOTE7731",
    "secrecy_period": "SPMARKER9",
    "opening_advice": {"advice": "open", "reason": "ADVICEMARKER5"},
    "classification": "公开",
}


def _record(rt, client, make_token, n: int, title: str, pdf: str, txt: str, **meta) -> str:
    files = {"doc.pdf": text_pdf(pdf), "notes.txt": txt.encode("utf-8")}
    code = f"A001-WS-1990-Y-{n:04d}"
    return ingest(rt, client, make_token, files, title=title, archival_code=code, **OLD, **meta)


def _review(client, people, opening: str, outcome: str) -> None:
    response = client.post(
        f"/v1/openings/{opening}/review",
        json={"outcome": outcome, "reason": "r"},
        headers=people.security,
    )
    assert response.status_code == 200, response.text


def _stages(rt, client, make_token, people):
    """One open record and five that are not open, each at another stage."""
    opened = _record(
        rt, client, make_token, 101, "Harbour lighthouse 港口灯塔", "Lighthouse keeper ledger",
        "港口灯塔守护日志 OPENTEXT", **HIDDEN_FIELDS,
    )  # fmt: skip
    hidden = {}
    terms = {
        "controlled": ("Zebra personnel 斑马人事", "Quokka secret", "袋鼠秘密 CTRLTEXT"),
        "pending": ("Narwhal pending 独角鲸", "Pangolin ledger", "穿山甲 PENDTEXT"),
        "failed": ("Walrus failed 海象", "Axolotl ledger", "蝾螈 FAILTEXT"),
        "reviewed": ("Okapi reviewed 霍加狓", "Dugong ledger", "儒艮 REVTEXT"),
        "restricted": ("Tapir restricted 貘", "Gharial ledger", "长吻鳄 RESTEXT"),
    }
    for n, (stage, (title, pdf, txt)) in enumerate(terms.items(), start=102):
        hidden[stage] = _record(rt, client, make_token, n, title, pdf, txt, note="HIDDENNOTE7731")
    open_records(rt, client, people, opened)
    decide = {"decision": "open", "reason": "due"}
    propose(client, people, {"aip_id": hidden["pending"], **decide})
    _review(client, people, propose(client, people, {"aip_id": hidden["failed"], **decide}), "fail")
    _review(
        client, people, propose(client, people, {"aip_id": hidden["reviewed"], **decide}), "pass"
    )
    restricted = propose(
        client, people, {"aip_id": hidden["restricted"], "decision": "restricted", "reason": "r"}
    )
    _review(client, people, restricted, "pass")
    assert client.post(
        f"/v1/openings/{restricted}/approve", headers=people.second_officer
    ).is_success
    words = [
        w
        for title, pdf, txt in terms.values()
        for w in (*title.split(), *pdf.split(), *txt.split())
    ]
    words = [w for w in words if w not in ("ledger", "secret")]
    return opened, hidden, words


def _codes(n_from: int, n_to: int) -> list[str]:
    return [f"A001-WS-1990-Y-{n:04d}" for n in range(n_from, n_to)]


def _same_as_unknown(client, hidden_id: str) -> None:
    unknown = str(uuid.uuid4())
    for template in ID_PATHS:
        got = client.get(template.format(id=hidden_id))
        want = client.get(template.format(id=unknown))
        where = template.format(id="<hidden>")
        assert got.status_code == want.status_code == 404, (where, got.status_code, got.text)
        assert got.headers.get("content-type") == want.headers.get("content-type"), where
        assert got.text.replace(hidden_id, "ID") == want.text.replace(unknown, "ID"), where
        assert "set-cookie" not in got.headers and got.headers["cache-control"] == "no-store"


def _nothing_found(client, term: str) -> None:
    api = client.get("/public/v1/records", params={"q": term})
    assert api.status_code == 200 and api.json() == {"items": [], "next_cursor": None}, term
    page = client.get("/public/", params={"q": term})
    assert page.status_code == 200 and 'id="none"' in page.text, term


def _public_answers(client, opened: str | None) -> list[str]:
    """Every public answer that is not about one given id."""
    paths = ["/public/v1/records", "/public/", "/public/v1/catalogues", "/public/catalogues",
             "/public/v1/keys", "/public/openapi.json"]  # fmt: skip
    bodies = [client.get(p).text for p in paths]
    for c in client.get("/public/v1/catalogues").json():
        bodies += [client.get(c["json_url"]).text, client.get(c["csv_url"]).text]
        bodies.append(client.get(c["page_url"]).text)
    if opened:
        record = client.get(f"/public/v1/records/{opened}")
        bodies += [record.text, client.get(f"/public/records/{opened}").text]
        bodies.append(client.get(f"/public/records/{opened}/read/doc.pdf").text)
        bodies.append(client.get(f"/public/v1/records/{opened}/signature").text)
        bodies.append(client.get(f"/public/v1/records/{opened}/files/notes.txt").text)
    return bodies


def test_nothing_short_of_open_is_public_and_withdrawal_is_immediate(rt, client, make_token):
    people = People(make_token)
    opened, hidden, words = _stages(rt, client, make_token, people)
    with rt.sessions.begin() as session:
        published = catalogue.publish(
            session, date(2000, 1, 1), date(2100, 1, 1), rt.signing_key, "test", ["title"]
        )
        catalogue_id = published.id
        texts = set(session.scalars(select(PublicText.aip_id)))
    assert texts == {opened}, "full text is taken from open records only"

    # the open record is there, with its text searchable, showing only publishable fields
    listing = client.get("/public/v1/records").json()
    assert [i["id"] for i in listing["items"]] == [opened]
    for term in ("港口灯塔", "lighthouse", "Lighthouse keeper", "OPENTEXT", "守护日志"):
        found = client.get("/public/v1/records", params={"q": term}).json()["items"]
        assert [i["id"] for i in found] == [opened], term
    passage = client.get("/public/v1/records", params={"q": "守护日志"}).json()["items"][0]
    assert passage["passage"]["path"] == "notes.txt" and "守护日志" in passage["passage"]["passage"]
    assert set(client.get(f"/public/v1/records/{opened}").json()["fields"]) <= {
        "title", "archival_code", "date", "creator", "fonds"
    }  # fmt: skip

    # nothing of the five others, nor of the open record's unpublishable fields
    secrets = [*hidden.values(), *words, *_codes(102, 107), "HIDDENNOTE7731", "SPMARKER9",
               "ADVICEMARKER5", "agency-a", "公开", "permanent"]  # fmt: skip
    for body in _public_answers(client, opened):
        for secret in secrets:
            assert secret not in body, secret
    for term in secrets:
        _nothing_found(client, term)
    for hidden_id in hidden.values():
        _same_as_unknown(client, hidden_id)

    # withdrawal: gone from every answer in the same moment
    withdrawn = client.post(
        f"/v1/aips/{opened}/withdrawal", json={"reason": "complaint"}, headers=people.officer
    )
    assert withdrawn.status_code == 204, withdrawn.text
    _same_as_unknown(client, opened)
    for term in ("港口灯塔", "Lighthouse", "OPENTEXT", "A001-WS-1990-Y-0101"):
        _nothing_found(client, term)
    for body in _public_answers(client, None):
        assert opened not in body and "Harbour" not in body
    document = client.get(f"/public/v1/catalogues/{catalogue_id}").json()
    assert document["catalogue"]["entries"] == [] and document["catalogue"]["revision"] == 2
    catalogue.verify_document(document, rt.keyring.trusted())
    again = client.post(
        f"/v1/aips/{opened}/withdrawal", json={"reason": "again"}, headers=people.officer
    )
    assert again.status_code == 409


def test_public_errors_are_clean(rt, client, make_token):
    for path in ("/public/v1/records?cursor=garbage", "/public/v1/records?limit=0",
                 "/public/v1/records?q=" + "x" * 300, "/public/v1/records/" + "a" * 500,
                 "/public/v1/catalogues/" + "b" * 80, "/public/nothing-here",
                 "/public/v1/records?q=a%00b", "/public/?q=%00%01",
                 "/public/v1/records/%00", "/public/v1/catalogues/%00"):  # fmt: skip
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert json.loads(response.text)["status"] == response.status_code
        assert "set-cookie" not in response.headers
