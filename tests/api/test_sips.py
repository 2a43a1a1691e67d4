"""Pushing a SIP over HTTP: the happy path, and every bad input answered as problem+json."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from preserve.catalog.models import Role
from preserve.jobs.worker import drain
from support.http import auth
from support.records import MINIMAL_PDF, form, metadata

PROBLEM = "application/problem+json"


def leftovers(rt) -> list[str]:
    """Every file under staging and the stores: a rejected SIP must leave none."""
    roots = [rt.settings.staging_dir, *(Path(t.root) for t in rt.profile().targets)]
    return [os.path.join(d, f) for r in roots if r.exists() for d, _, fs in os.walk(r) for f in fs]


def test_push_reaches_preserved_with_two_verified_replicas(rt, client, make_token):
    token = make_token()
    files = {"docs/notice.pdf": MINIMAL_PDF, "附件/说明.txt": "说明文字\n".encode()}
    response = client.post("/v1/sips", **form(files, metadata(), headers=auth(token)))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["state"] == "RECEIVED"
    assert response.headers["Location"] == f"/v1/sips/{body['id']}"

    drain(rt)

    sip = client.get(f"/v1/sips/{body['id']}", headers=auth(token)).json()
    assert sip["state"] == "PRESERVED"
    aip = client.get(f"/v1/aips/{sip['aip_id']}", headers=auth(token)).json()
    by_path = {f["path"]: f for f in aip["files"]}
    assert set(by_path) == set(files)
    assert by_path["docs/notice.pdf"]["size"] == len(MINIMAL_PDF)
    assert by_path["docs/notice.pdf"]["puid"].startswith("fmt/")
    assert "PDF" in by_path["docs/notice.pdf"]["format_name"]
    assert {r["target"]: r["state"] for r in aip["replicas"]} == {
        "site-a-disk": "verified",
        "site-b-nas": "verified",
    }
    assert all(r["verified_time"] for r in aip["replicas"])
    assert not rt.settings.staging_dir.joinpath(body["id"]).exists()


def test_declared_digest_is_checked(rt, client, make_token):
    meta = metadata(files={"a.txt": {"sha256": "0" * 64}})
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, meta, headers=auth(make_token())))
    assert response.status_code == 422
    assert response.json()["type"].endswith("/digest-mismatch")
    assert "a.txt" in response.json()["detail"]
    assert leftovers(rt) == []


@pytest.mark.parametrize(
    ("files", "meta", "slug", "needle"),
    [
        ({"../escape.txt": b"x"}, metadata(), "unsafe-path", "'..'"),
        ({"a/../../b.txt": b"x"}, metadata(), "unsafe-path", "'..'"),
        ({"/etc/passwd": b"x"}, metadata(), "unsafe-path", "absolute"),
        ({"C:/x.txt": b"x"}, metadata(), "unsafe-path", "absolute"),
        ({}, metadata(), "no-files", "files"),
        ({"a.txt": b"x"}, "{not json", "invalid-metadata", "not valid JSON"),
        ({"a.txt": b"x"}, None, "invalid-metadata", "metadata"),
        ({"a.txt": b"x"}, {"title": "t"}, "invalid-metadata", "creator"),
        ({"a.txt": b"x"}, metadata(retention="forever"), "invalid-metadata", "retention"),
        ({"a.txt": b"x"}, metadata(date="yesterday"), "invalid-metadata", "date"),
    ],
)
def test_bad_input_is_a_problem_and_leaves_nothing(
    rt, client, make_token, files, meta, slug, needle
):
    response = client.post("/v1/sips", **form(files, meta, headers=auth(make_token())))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == f"https://preserve.dev/problems/{slug}"
    assert problem["status"] == response.status_code
    assert needle in problem["detail"]
    assert leftovers(rt) == []
    drain(rt)
    assert leftovers(rt) == []


def test_duplicate_path_in_one_sip_is_refused(rt, client, make_token):
    body = form([("a.txt", b"1"), ("a.txt", b"2")], metadata(), headers=auth(make_token()))
    response = client.post("/v1/sips", **body)
    assert response.status_code == 422
    assert "twice" in response.json()["detail"]
    assert leftovers(rt) == []


def test_not_multipart_is_415(client, make_token):
    response = client.post(
        "/v1/sips", headers={**auth(make_token()), "Content-Type": "text/plain"}, content=b"hi"
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer pv_wrong"}, {"Authorization": "Basic eDp5"}]
)
def test_missing_or_wrong_token_is_401(rt, client, headers):
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=headers))
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert leftovers(rt) == []


def test_other_agencys_records_answer_404_like_unknown_ids(rt, client, make_token):
    mine, theirs = make_token("agency-a"), make_token("agency-b")
    sip_id = client.post(
        "/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=auth(mine))
    ).json()["id"]
    drain(rt)
    aip_id = client.get(f"/v1/sips/{sip_id}", headers=auth(mine)).json()["aip_id"]

    for url in (f"/v1/sips/{sip_id}", f"/v1/aips/{aip_id}"):
        other = client.get(url, headers=auth(theirs))
        unknown = client.get(
            url.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000", headers=auth(theirs)
        )
        assert other.status_code == unknown.status_code == 404
        assert other.json()["type"] == unknown.json()["type"]
        assert other.json()["title"] == unknown.json()["title"]
    officer = make_token("archive", Role.OFFICER)
    assert client.get(f"/v1/aips/{aip_id}", headers=auth(officer)).status_code == 200


def test_roles_are_enforced(client, make_token):
    officer = make_token("archive", Role.OFFICER)
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=auth(officer)))
    assert response.status_code == 403
    submitter = make_token()
    assert client.get("/v1/reports/fixity", headers=auth(submitter)).status_code == 403
    assert client.get("/v1/reports/fixity", headers=auth(officer)).status_code == 200


def test_health_and_openapi_need_no_token(client):
    assert client.get("/health").json()["status"] in ("ok", "degraded")
    spec = client.get("/openapi.json").json()
    assert {
        "/v1/sips",
        "/v1/sips/{sip_id}",
        "/v1/aips/{aip_id}",
        "/v1/reports/fixity",
        "/v1/keys",
    } <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/v1/sips"]["post"]["requestBody"]["content"]
