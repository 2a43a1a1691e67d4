"""Against a real ``preserve serve``: a resumable upload cut off half-way and resumed makes an
AIP byte-identical to the file; ``preserve push`` resumes after a failure under the same
Idempotency-Key and prints a receipt that ``preserve receipt verify`` accepts."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest

from support.http import auth
from support.records import metadata
from support.server import run_cli

pytestmark = pytest.mark.slow
SIZE = 3 * 1024 * 1024 + 12345


def wait_for(client: httpx.Client, sip_id: str, state: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sip = client.get(f"/v1/sips/{sip_id}").json()
        if sip["state"] == state:
            return sip
        time.sleep(0.1)
    raise AssertionError(f"SIP {sip_id} stuck in {sip['state']}: {sip}")


def cut_off_patch(url: str, path: str, token: str, offset: int, data: bytes, sent: int) -> None:
    """A PATCH that announces ``len(data)`` bytes, sends ``sent`` of them and drops the line."""
    where = urlparse(url)
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: Bearer {token}\r\n"
        f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname, where.port)) as sock:
        sock.sendall(head + data[:sent])
        time.sleep(0.5)  # let the server write what arrived
    time.sleep(0.5)


def test_upload_cut_off_half_way_and_resumed_gives_a_byte_identical_aip(served):
    server, _env, token, tmp_path = served
    content = os.urandom(SIZE)
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        created = client.post("/v1/uploads", headers={"Upload-Length": str(SIZE)})
        assert created.status_code == 201, created.text
        location = created.headers["Location"]

        cut_off_patch(server.url, location, token, 0, content, SIZE // 2)

        offset = int(client.head(location).headers["Upload-Offset"])
        assert 0 < offset <= SIZE // 2, offset  # what arrived was kept
        wrong = client.patch(
            location,
            content=content[offset + 1 :],
            headers={
                "Upload-Offset": str(offset + 1),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert wrong.status_code == 409
        resumed = client.patch(
            location,
            content=content[offset:],
            headers={
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert resumed.status_code == 204, resumed.text
        assert int(resumed.headers["Upload-Offset"]) == SIZE

        meta = metadata(files={"scan/big.bin": {"sha256": hashlib.sha256(content).hexdigest()}})
        accepted = client.post(
            "/v1/sips",
            json={"metadata": meta, "uploads": {"scan/big.bin": location.rsplit("/", 1)[-1]}},
        )
        assert accepted.status_code == 202, accepted.text
        sip = wait_for(client, accepted.json()["id"], "PRESERVED")
        assert client.head(location).status_code == 404  # the SIP took the upload
    stored = [p for p in (tmp_path / "stores").rglob("data/scan/big.bin")]
    assert len(stored) == 2 and all(p.read_bytes() == content for p in stored)
    assert sip["aip_id"] in str(stored[0])


def test_push_resumes_with_the_same_key_and_prints_a_verifiable_receipt(served):
    server, env, token, tmp_path = served
    record = tmp_path / "record"
    (record / "附件").mkdir(parents=True)
    (record / "notice.txt").write_text("通知正文\n" * 100, encoding="utf-8")
    (record / "附件" / "large.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(metadata(), ensure_ascii=False), encoding="utf-8")
    args = [
        "push",
        str(record),
        "--metadata",
        str(meta),
        "--url",
        server.url,
        "--token",
        token,
        "--large-mib",
        "1",
        "--state-dir",
        str(tmp_path / "state"),
    ]

    first = run_cli(env, *args, "--wait", "0")
    assert first.returncode == 0, first.stderr
    again = run_cli(env, *args, "--receipt", str(tmp_path / "receipt.json"))
    assert again.returncode == 0, again.stderr
    assert "already received: same Idempotency-Key" in again.stdout
    sip_id = first.stdout.split()[1]
    assert f"SIP {sip_id}" in again.stdout and "receipt verified" in again.stdout

    keys = httpx.get(f"{server.url}/v1/keys", headers={"Authorization": f"Bearer {token}"})
    (tmp_path / "keys.json").write_text(keys.text)
    ok = run_cli(
        env,
        "receipt",
        "verify",
        str(tmp_path / "receipt.json"),
        "--keys-json",
        str(tmp_path / "keys.json"),
    )
    assert ok.returncode == 0, ok.stderr
    assert sip_id in ok.stdout

    doc = json.loads((tmp_path / "receipt.json").read_text())
    assert {f["path"] for f in doc["receipt"]["files"]} == {"notice.txt", "附件/large.bin"}
    doc["receipt"]["files"][0]["size"] += 1
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    bad = run_cli(
        env,
        "receipt",
        "verify",
        str(tmp_path / "forged.json"),
        "--keys-json",
        str(tmp_path / "keys.json"),
    )
    assert bad.returncode != 0
    assert bad.stderr.startswith("error:") and "does not match" in bad.stderr


def test_replayed_post_of_taken_uploads_answers_the_original(client, make_token):
    """A retry of an accepted SIP whose uploads it already took is the original, not a second
    (rejected) SIP."""
    headers = auth(make_token())
    made = client.post("/v1/uploads", headers={**headers, "Upload-Length": "5"})
    upload = made.headers["location"].rsplit("/", 1)[1]
    patch = {**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert client.patch(f"/v1/uploads/{upload}", content=b"hello", headers=patch).status_code == 204
    body = {"metadata": metadata(), "uploads": {"hello.txt": upload}}
    keyed = {**headers, "Idempotency-Key": "taken-uploads-1"}
    first = client.post("/v1/sips", json=body, headers=keyed)
    assert first.status_code == 202, first.text
    again = client.post("/v1/sips", json=body, headers=keyed)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
