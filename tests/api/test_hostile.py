"""Hostile requests: every one answers a 4xx problem+json, bounded, and leaves nothing behind."""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

from preserve.catalog.models import Role
from preserve.jobs.worker import drain
from support.hostile import (
    TEXT,
    bad_crc_zip,
    bag_members,
    corrupt_deflate_zip,
    gzip_bomb,
    not_utf8_name_zip,
    nul_long_name_tar,
    nul_name_tar,
    nul_name_zip,
    size_lies_zip,
    tar_of,
    zip_of,
)
from support.http import auth
from support.profiles import write_profile
from support.records import form, metadata
from support.server import Server, cli_env, run_cli

PROBLEM = "application/problem+json"


def staged(rt) -> list[str]:
    root = rt.settings.staging_dir
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs] if root.exists() else []


def assert_problem(response, status: int | None = None, slug: str | None = None) -> dict:
    assert 400 <= response.status_code < 500, response.text[:2000]
    if status is not None:
        assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    if slug is not None:
        assert body["type"].endswith("/" + slug), body
    return body


def failed(problem: dict) -> set[str]:
    return {c["code"] for c in problem.get("checks", [])}


def push_bag(client, token: str, body: bytes, media: str = "application/zip", **headers):
    return client.post(
        "/v1/sips", content=body, headers={**auth(token), "Content-Type": media, **headers}
    )


def test_malformed_content_digest_is_a_failed_check(rt, client, make_token):
    headers = {**auth(make_token()), "Content-Digest": "sha-256=:A:"}
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=headers))
    body = assert_problem(response, 422, "digest-mismatch")
    assert "Content-Digest" in body["detail"]
    assert staged(rt) == []


def test_metadata_nested_100000_deep_is_refused(rt, client, make_token):
    deep = "[" * 100_000 + "]" * 100_000
    meta = '{"title": ' + deep + "}"
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, meta, headers=auth(make_token())))
    body = assert_problem(response, 422, "invalid-metadata")
    assert "nested" in body["detail"]
    assert staged(rt) == []


def test_json_sip_request_nested_deep_is_refused(rt, client, make_token):
    body = '{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(
        "/v1/sips",
        content=body,
        headers={**auth(make_token()), "Content-Type": "application/json"},
    )
    assert_problem(response, 422)


@pytest.mark.parametrize("query", ["to=0001-01-01T00:00:00", "from=9999-12-31T23:59:59"])
def test_fixity_report_period_at_the_calendar_edge_is_refused(client, make_token, query):
    token = make_token(role=Role.OFFICER)
    response = client.get(f"/v1/reports/fixity?{query}", headers=auth(token))
    assert_problem(response, 422, "invalid-input")


def test_log_position_past_64_bits_is_refused(client, make_token):
    response = client.get("/v1/log/events?after=9223372036854775808", headers=auth(make_token()))
    assert_problem(response, 422, "invalid-input")


def test_multipart_boundary_of_300_characters_is_refused(rt, client, make_token):
    boundary = "b" * 300
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{{}}\r\n'
    body += f"--{boundary}--\r\n"
    headers = {**auth(make_token()), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/v1/sips", content=body, headers=headers)
    assert_problem(response, 400, "malformed-upload")
    assert staged(rt) == []


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (bad_crc_zip, "1-13"),
        (corrupt_deflate_zip, "1-13"),
        (not_utf8_name_zip, "1-13"),
        (nul_name_zip, "P-1"),
        (nul_name_tar, "P-1"),
        (nul_long_name_tar, "P-1"),
        (size_lies_zip, "P-1"),
    ],
)
def test_damaged_zip_is_refused_and_leaves_nothing(rt, client, make_token, build, code):
    media = "application/x-tar" if "tar" in build.__name__ else "application/zip"
    response = push_bag(client, make_token(), build(), media)
    problem = assert_problem(response, 422)
    assert code in {c["code"] for c in problem["checks"]}, problem
    assert staged(rt) == []


def test_the_valid_zip_these_are_made_from_is_accepted(rt, client, make_token):
    response = push_bag(client, make_token(), zip_of(bag_members()))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_the_valid_tars_these_are_made_from_are_accepted(rt, client, make_token, fmt):
    long = "data/" + "d" * 120 + "/b.txt"  # a long name: GNU long name, PAX path, ustar prefix
    body = tar_of(bag_members({long: TEXT}), fmt)
    response = push_bag(client, make_token(), body, "application/x-tar")
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "name", ['docs/a"b.txt', "docs/a\rb.txt", "docs/a\nb.txt", "docs/a\x00b.txt"]
)
def test_unsafe_characters_in_a_multipart_filename_are_refused(rt, client, make_token, name):
    body = (
        b'--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n'
        b'--B\r\nContent-Disposition: form-data; name="files"; filename="'
        + name.encode()
        + b'"\r\n\r\nxx\r\n--B--\r\n'
    )
    headers = {**auth(make_token()), "Content-Type": "multipart/form-data; boundary=B"}
    response = client.post("/v1/sips", content=body, headers=headers)
    assert_problem(response)
    if response.status_code == 422:
        assert response.json()["type"].endswith("/unsafe-path")
    assert staged(rt) == []


def test_quote_in_a_zip_member_name_is_refused(rt, client, make_token):

    response = push_bag(client, make_token(), zip_of(bag_members({'data/a"b.txt': TEXT})))
    assert "P-1" in failed(assert_problem(response, 422))


def test_gzip_bomb_is_cut_off_at_a_small_multiple_of_the_body(rt, client, make_token):
    body = gzip_bomb(256 * 1024 * 1024)
    response = push_bag(client, make_token(), body, "application/gzip")
    problem = assert_problem(response, 422)
    assert "P-1" in failed(problem)
    ceiling = int(problem["detail"].split("expands past ")[1].split(" ")[0])
    assert ceiling <= max(rt.settings.max_unpack_ratio * len(body), 1024 * 1024)
    assert staged(rt) == []


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_a_50_mb_title_in_bag_info_costs_the_server_little(served):
    """The tag file is refused from its header: never read, echoed or stored whole."""
    server, token, tmp_path = served
    path = tmp_path / "big.tar"
    with tarfile.open(path, "w") as archive:
        info = b"Title: " + b"x" * (50 * 1024 * 1024) + b"\n"
        for name, data in bag_members(info=info).items():
            member = tarfile.TarInfo(f"bag/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        del info
    with httpx.Client(base_url=server.url, headers=auth(token), timeout=60) as http:
        http.get("/health")
        before = rss(server.proc.pid)
        with open(path, "rb") as body:
            response = http.post(
                "/v1/sips", content=body, headers={"Content-Type": "application/x-tar"}
            )
        grown = rss(server.proc.pid) - before
        problem = assert_problem(response, 422)
        assert "P-1" in failed(problem)
        assert "bag-info.txt" in problem["detail"]
        assert len(response.content) < 16 * 1024
        sip = http.get(f"/v1/sips/{problem['sip_id']}")
    assert grown < 100 * 1024 * 1024, grown
    assert sip.json()["state"] == "REJECTED"
    assert len(sip.content) < 16 * 1024
    db = tmp_path / "var" / "preserve.db"
    if db.exists():
        assert db.stat().st_size < 5 * 1024 * 1024
    staging = tmp_path / "var" / "staging"
    assert not staging.exists() or not [f for _, _, fs in os.walk(staging) for f in fs]


def test_a_long_metadata_value_is_refused_and_not_echoed(rt, client, make_token):
    token = make_token()
    meta = metadata(title="x" * (300 * 1024))  # under the 1 MiB form field, over the value cap
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, meta, headers=auth(token)))
    problem = assert_problem(response, 422, "invalid-metadata")
    assert len(response.content) < 16 * 1024
    sip = client.get(f"/v1/sips/{problem['sip_id']}", headers=auth(token))
    assert len(sip.content) < 16 * 1024


@pytest.fixture
def served(tmp_path: Path, database_url: str, request):
    """A real ``preserve serve`` (uvicorn) with a 1 s body idle timeout and 2 uploads a token."""
    write_profile(tmp_path / "profiles", tmp_path / "stores")
    env = cli_env(tmp_path / "var", database_url, tmp_path / "profiles")
    env.update(
        PRESERVE_BODY_IDLE_TIMEOUT_SECONDS="1", PRESERVE_MAX_CONCURRENT_UPLOADS_PER_TOKEN="2"
    )
    server = Server(env, tmp_path)
    try:
        made = run_cli(env, "tokens", "create", "--agency", "records-office", "--role", "submitter")
        assert made.returncode == 0, made.stderr
        yield server, made.stdout.strip().splitlines()[-1], tmp_path
    finally:
        server.stop()


class Statements:
    """Every SQL statement the engine runs while counting (parameters left out)."""

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, []

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def test_foreign_ids_cost_what_unknown_ids_cost_and_1_8_stays_in_the_agency(rt, client, make_token):
    own, other = make_token("agency-a"), make_token("agency-b")
    code = metadata()["archival_code"]
    first = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=auth(own)))
    assert first.status_code == 202, first.text
    drain(rt)
    sip = client.get(f"/v1/sips/{first.json()['id']}", headers=auth(own)).json()
    aip_id = sip["aip_id"]
    assert aip_id

    for path in (f"/v1/sips/{sip['id']}", f"/v1/aips/{aip_id}"):
        unknown = path.rsplit("/", 1)[0] + "/" + "0" * len(path.rsplit("/", 1)[1])
        with Statements(rt.engine) as foreign_sql:
            foreign = client.get(path, headers=auth(other))
        with Statements(rt.engine) as unknown_sql:
            missing = client.get(unknown, headers=auth(other))
        assert foreign.status_code == missing.status_code == 404
        assert foreign_sql == unknown_sql

    second = client.post("/v1/sips", **form({"b.txt": b"y"}, metadata(), headers=auth(other)))
    assert second.status_code == 202, second.text
    detail = client.get(f"/v1/sips/{second.json()['id']}", headers=auth(other)).json()
    text = str(detail)
    assert aip_id not in text
    check = next(c for c in detail["checks"] if c["code"] == "1-8")
    assert check["outcome"] == "pass" and code in check["detail"]
    drain(rt)
    receipt = client.get(f"/v1/sips/{second.json()['id']}/receipt", headers=auth(other))
    assert receipt.status_code == 200, receipt.text
    assert aip_id not in receipt.text

    again = client.post("/v1/sips", **form({"c.txt": b"z"}, metadata(), headers=auth(own)))
    assert again.status_code == 202, again.text
    mine = client.get(f"/v1/sips/{again.json()['id']}", headers=auth(own)).json()
    check = next(c for c in mine["checks"] if c["code"] == "1-8")
    assert check["outcome"] == "warn"
    assert aip_id in check["detail"]  # the agency's own AIP may be named to itself


def raw_post(server, token: str, head_extra: str, body: bytes, length: int) -> socket.socket:
    """A POST /v1/sips on a raw socket announcing ``length`` bytes and sending ``body``."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(30)  # a guard against a hang, not a timed assertion
    head = (
        f"POST /v1/sips HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {length}\r\n"
        f"{head_extra}\r\n"
    ).encode()
    sock.sendall(head + body)
    return sock


def answer(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        more = sock.recv(65536)
        if not more:
            break
        data += more
    sock.close()
    return int(data.split(b" ", 2)[1]), data


@pytest.mark.slow
def test_a_body_shorter_than_its_content_length_is_answered(served):
    server, token, tmp_path = served
    part = b'--B\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nxx'
    status, data = answer(raw_post(server, token, "", part, 10_000))
    assert status == 408, data
    assert b"application/problem+json" in data and b"body-timeout" in data
    staging = tmp_path / "var" / "staging"
    assert not staging.exists() or not [f for _, _, fs in os.walk(staging) for f in fs]


@pytest.mark.slow
def test_a_body_dripping_below_the_minimum_rate_is_cut_off(served):
    server, token, _ = served
    part = b'--B\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\n'
    sock = raw_post(server, token, "", part, 10_000)
    try:
        for _ in range(6):  # one byte every 0.4 s: never idle 1 s, far below 1 KiB/s
            time.sleep(0.4)
            sock.sendall(b"x")
    except OSError:  # cut off already
        pass
    status, data = answer(sock)
    assert status == 408, data
    assert b"bytes/s" in data


def test_tus_patch_in_another_protocol_version_is_412(client, make_token):
    headers = {**auth(make_token()), "Upload-Length": "4", "Tus-Resumable": "1.0.0"}
    created = client.post("/v1/uploads", headers=headers)
    assert created.status_code == 201, created.text
    patch = client.patch(
        created.headers["Location"],
        content=b"abcd",
        headers={
            **headers,
            "Tus-Resumable": "0.2.2",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert patch.status_code == 412
    assert patch.headers["Tus-Version"] == "1.0.0"
    assert patch.headers["content-type"].startswith(PROBLEM)


def test_tus_patches_keep_no_lock(client, make_token):
    from preserve.ingest import uploads

    token = make_token()
    headers = {**auth(token), "Tus-Resumable": "1.0.0"}
    created = client.post("/v1/uploads", headers={**headers, "Upload-Length": "4"})
    patch_headers = {
        **headers,
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
    }
    unknown = client.patch("/v1/uploads/nope", content=b"abcd", headers=patch_headers)
    assert_problem(unknown, 404)
    done = client.patch(created.headers["Location"], content=b"abcd", headers=patch_headers)
    assert done.status_code == 204, done.text
    assert uploads._locks == {}
