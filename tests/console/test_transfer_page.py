"""The submitter's hand transfer in-process (both databases): the form per the ingest profile,
chunked resumable uploads behind the session and its CSRF header, the SIP posted once (a retry
with the same key is the same SIP), a refusal on record, and other roles kept out."""

from __future__ import annotations

import pytest

from preserve.catalog.models import Role
from support.console_forms import as_, script_headers
from support.records import MINIMAL_PDF, metadata

UPLOADS = "/console/transfer/uploads"
NOTES = b"a record sent by hand, in chunks\n" * 300


def _upload(client, page: str, data: bytes, chunk: int) -> str:
    made = client.post(UPLOADS, headers=script_headers(page, Upload_Length=str(len(data))))
    assert made.status_code == 201, made.text
    location = made.headers["location"]
    assert location.startswith(f"{UPLOADS}/")
    offset = 0
    while offset < len(data):
        headers = script_headers(
            page, Upload_Offset=str(offset), Content_Type="application/offset+octet-stream"
        )
        sent = client.patch(location, content=data[offset : offset + chunk], headers=headers)
        assert sent.status_code == 204, sent.text
        offset = int(sent.headers["upload-offset"])
        asked = client.get(location, headers=script_headers(page))
        assert int(asked.headers["upload-offset"]) == offset
    return location.rsplit("/", 1)[1]


def test_form_lists_the_profile_fields(client, make_token):
    as_(client, make_token("records-office", Role.SUBMITTER))
    page = client.get("/console/transfer")
    assert page.status_code == 200
    assert "移交文件" in page.text
    assert 'name="archival_code" maxlength="500" required' in page.text
    assert 'name="fonds" maxlength="500">' in page.text  # recommended, not required
    assert '<script src="/console/static/transfer.js">' in page.text
    script = client.get("/console/static/transfer.js")
    assert script.status_code == 200 and "X-CSRF-Token" in script.text
    assert "http" not in script.text.replace("https://", "").split("//", 1)[0]


def test_chunked_transfer_opens_the_sip_page(client, make_token):
    as_(client, make_token("records-office", Role.SUBMITTER))
    page = client.get("/console/transfer").text
    uploads = {
        "公文/通知.pdf": _upload(client, page, MINIMAL_PDF, 100),
        "notes.txt": _upload(client, page, NOTES, 4096),
    }
    body = {"metadata": metadata(title="手工移交的档案"), "uploads": uploads}
    headers = script_headers(page, Idempotency_Key="console-transfer-1")
    sent = client.post("/console/transfer/sip", json=body, headers=headers)
    assert sent.status_code == 200, sent.text
    sip = sent.json()["sip"]
    assert sent.json()["location"] == f"/console/sips/{sip}"
    again = client.post("/console/transfer/sip", json=body, headers=headers)
    assert again.json()["sip"] == sip  # the same key: the same SIP, not a second one
    shown = client.get(f"/console/sips/{sip}")
    assert shown.status_code == 200
    assert "手工移交的档案" in shown.text and "2 · " in shown.text


def test_refused_transfer_is_on_record(client, make_token):
    as_(client, make_token("records-office", Role.SUBMITTER))
    page = client.get("/console/transfer").text
    uploads = {"notes.txt": _upload(client, page, NOTES, 1 << 20)}
    body = {"metadata": metadata(archival_code=""), "uploads": uploads}
    refused = client.post("/console/transfer/sip", json=body, headers=script_headers(page))
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["location"] == f"/console/sips/{answer['sip']}"
    assert (
        "拒收" in client.get(answer["location"]).text
        or "REJECTED" in client.get(answer["location"]).text
    )


def test_no_csrf_header_or_cross_site_is_refused(client, make_token):
    as_(client, make_token("records-office", Role.SUBMITTER))
    page = client.get("/console/transfer").text
    length = {"Upload-Length": "10"}
    assert client.post(UPLOADS, headers=length).status_code == 403
    wrong = {**length, "X-CSRF-Token": "0" * 64}
    assert client.post(UPLOADS, headers=wrong).status_code == 403
    hostile = {**script_headers(page, Upload_Length="10"), "Sec-Fetch-Site": "cross-site"}
    assert client.post(UPLOADS, headers=hostile).status_code == 403
    body = {"metadata": metadata(), "uploads": {}}
    assert client.post("/console/transfer/sip", json=body).status_code == 403


def test_uploads_of_another_agency_are_not_found(client, make_token):
    as_(client, make_token("records-office", Role.SUBMITTER))
    page = client.get("/console/transfer").text
    made = client.post(UPLOADS, headers=script_headers(page, Upload_Length="5"))
    location = made.headers["location"]
    as_(client, make_token("other-office", Role.SUBMITTER))
    other = client.get("/console/transfer").text
    assert client.get(location, headers=script_headers(other)).status_code == 404


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.SUBMITTER, Role.ADMIN)])
def test_other_roles_cannot_transfer(client, make_token, role):
    as_(client, make_token("archive", role))
    home = client.get("/console/").text
    assert 'href="/console/transfer"' not in home
    assert client.get("/console/transfer").status_code == 403
    posted = client.post(UPLOADS, headers=script_headers(home, Upload_Length="5"))
    assert posted.status_code == 403
