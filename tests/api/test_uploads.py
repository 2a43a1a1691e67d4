"""The tus 1.0 core protocol of /v1/uploads, bad requests included, and uploads in SIPs."""

from __future__ import annotations

import base64
import hashlib
import json

from preserve.jobs.worker import drain
from support.records import metadata

OCTETS = "application/offset+octet-stream"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}


def create(client, token, length: int, **headers) -> str:
    response = client.post(
        "/v1/uploads", headers={**auth(token), "Upload-Length": str(length), **headers}
    )
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0" and response.headers["Upload-Offset"] == "0"
    return response.headers["Location"]


def patch(client, token, location: str, offset: int, data: bytes, ctype: str = OCTETS):
    headers = {**auth(token), "Upload-Offset": str(offset), "Content-Type": ctype}
    return client.patch(location, content=data, headers=headers)


def test_options_announce_the_protocol(client):
    response = client.options("/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert "creation" in response.headers["Tus-Extension"]


def test_chunks_at_offsets_head_and_conflicts(rt, client, make_token):
    token = make_token()
    name = base64.b64encode("说明.txt".encode()).decode()
    location = create(client, token, 10, **{"Upload-Metadata": f"filename {name}"})
    assert patch(client, token, location, 0, b"01234").status_code == 204
    head = client.head(location, headers=auth(token))
    assert head.headers["Upload-Offset"] == "5" and head.headers["Upload-Length"] == "10"
    assert "Upload-Expires" in head.headers
    assert patch(client, token, location, 3, b"34567").status_code == 409
    assert patch(client, token, location, 5, b"56789", "text/plain").status_code == 415
    assert patch(client, token, location, 5, b"56789-too-long").status_code == 422
    assert patch(client, token, location, 5, b"56789").headers["Upload-Offset"] == "10"
    other = make_token("agency-b")
    assert client.head(location, headers=auth(other)).status_code == 404
    assert client.delete(location, headers=auth(other)).status_code == 404


def test_limits_and_termination(rt, client, make_token):
    token = make_token()
    too_big = client.post(
        "/v1/uploads",
        headers={**auth(token), "Upload-Length": str(rt.settings.max_file_bytes + 1)},
    )
    assert too_big.status_code == 413
    location = create(client, token, 4)
    assert client.delete(location, headers=auth(token)).status_code == 204
    assert client.head(location, headers=auth(token)).status_code == 404


def test_a_sip_may_only_take_finished_uploads_of_its_own_agency(rt, client, make_token):
    token = make_token()
    unfinished = create(client, token, 10).rsplit("/", 1)[-1]
    theirs = create(client, make_token("agency-b"), 0).rsplit("/", 1)[-1]
    body = {"metadata": metadata(), "uploads": {"a.bin": unfinished, "b.bin": theirs}}
    response = client.post("/v1/sips", json=body, headers=auth(token))
    assert response.status_code == 422
    details = " ".join(c["detail"] for c in response.json()["checks"])
    assert (
        "a.bin: upload" in details and "0 of 10 bytes" in details and "b.bin: no upload" in details
    )
    assert client.head(f"/v1/uploads/{unfinished}", headers=auth(token)).status_code == 200


def test_finished_uploads_join_a_multipart_sip_and_are_consumed(rt, client, make_token):
    token = make_token()
    location = create(client, token, 6)
    patch(client, token, location, 0, b"upload")
    boundary = "b-1234"
    uploads = f'{{"big/one.bin": "{location.rsplit("/", 1)[-1]}"}}'
    meta = metadata(
        files={"big/one.bin": {"sha256": hashlib.sha256(b"upload").hexdigest()}, "small.txt": {}}
    )
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        f"{json.dumps(meta)}\r\n--{boundary}\r\n"
        f'Content-Disposition: form-data; name="uploads"\r\n\r\n{uploads}\r\n'
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="small.txt"\r\n\r\n'
        f"small\r\n--{boundary}--\r\n"
    ).encode()
    headers = {**auth(token), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/v1/sips", content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert client.head(location, headers=auth(token)).status_code == 404
    drain(rt)
    sip = client.get(f"/v1/sips/{response.json()['id']}", headers=auth(token)).json()
    assert sip["state"] == "PRESERVED" and sip["file_count"] == 2
    assert not list(rt.settings.staging_dir.joinpath("uploads").iterdir())
