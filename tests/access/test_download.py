"""Access over HTTP: one file with ranges and digest headers, the whole AIP as zip or tar."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import uuid
import zipfile
from pathlib import Path
from urllib.parse import quote

import bagit
import pytest
from recovery_fixtures import FILES, flip_byte, ingest, replica_dir, tokens, wipe_target
from sqlalchemy import select

from preserve.access.download import ArchiveFormat, iter_archive, plan_archive
from preserve.access.sources import choose_source, load_record
from preserve.catalog.models import Event, Replica
from preserve.errors import IntegrityError
from support.http import auth

PROBLEM = "application/problem+json"
BIG = "big/blob.bin"
CN = "文书档案/2024年/关于档案工作的通知.txt"


@pytest.fixture
def who(make_token) -> dict[str, str]:
    return tokens(make_token)


@pytest.fixture
def aip(rt, client, who) -> dict:
    return ingest(rt, client, who["submitter"])


def url(aip: dict, path: str) -> str:
    return f"/v1/aips/{aip['id']}/files/{quote(path)}"


def unpack_bag(content: bytes, fmt: str, into: Path, aip_id: str) -> bagit.Bag:
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            assert zf.testzip() is None
            zf.extractall(into)
    else:
        with tarfile.open(fileobj=io.BytesIO(content)) as tf:
            tf.extractall(into, filter="data")
    bag = bagit.Bag(str(into / aip_id))
    bag.validate()
    return bag


# -- one file ---------------------------------------------------------------------------


def test_a_whole_file_comes_with_length_and_digest_headers(client, aip, who):
    response = client.get(url(aip, CN), headers=auth(who["submitter"]))
    assert response.status_code == 200
    assert response.content == FILES[CN]
    sha256 = hashlib.sha256(FILES[CN]).digest()
    sha512 = hashlib.sha512(FILES[CN]).digest()
    assert response.headers["content-length"] == str(len(FILES[CN]))
    assert response.headers["etag"] == f'"{sha256.hex()}"'
    assert response.headers["repr-digest"] == (
        f"sha-256=:{base64.b64encode(sha256).decode()}:, "
        f"sha-512=:{base64.b64encode(sha512).decode()}:"
    )
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-preserve-target"] == "site-a-disk"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert quote("关于档案工作的通知.txt") in response.headers["content-disposition"]


RANGES = [
    ("bytes=0-0", 0, 0),
    ("bytes=100-199", 100, 199),
    ("bytes=-5", len(FILES[BIG]) - 5, len(FILES[BIG]) - 1),
    ("bytes=2000000-", 2_000_000, len(FILES[BIG]) - 1),
    ("bytes=3000000-99999999", 3_000_000, len(FILES[BIG]) - 1),
    ("bytes=-99999999", 0, len(FILES[BIG]) - 1),
]


def test_a_range_is_answered_with_206(client, aip, who):
    for header, start, end in RANGES:
        response = client.get(url(aip, BIG), headers={**auth(who["ops"]), "Range": header})
        assert response.status_code == 206, header
        assert response.content == FILES[BIG][start : end + 1], header
        assert response.headers["content-range"] == f"bytes {start}-{end}/{len(FILES[BIG])}"
        assert response.headers["content-length"] == str(end - start + 1)
        assert response.headers["etag"] == f'"{hashlib.sha256(FILES[BIG]).hexdigest()}"'


def test_ranges_it_does_not_serve_give_the_whole_file(client, aip, who):
    for header in ("bytes=0-1,5-9", "items=0-5", "bytes=9-3", "bytes=abc", "bytes=", "bytes=-"):
        response = client.get(url(aip, CN), headers={**auth(who["ops"]), "Range": header})
        assert response.status_code == 200, header
        assert response.content == FILES[CN], header


def test_an_unsatisfiable_range_is_416_with_the_size(client, aip, who):
    for header in ("bytes=999999999-", "bytes=-0", f"bytes={len(FILES[CN])}-"):
        response = client.get(url(aip, CN), headers={**auth(who["ops"]), "Range": header})
        assert response.status_code == 416, header
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["content-range"] == f"bytes */{len(FILES[CN])}"
        assert response.json()["type"].endswith("/range-not-satisfiable")


def test_if_range_and_if_none_match_use_the_sha256_etag(client, aip, who):
    tag = f'"{hashlib.sha256(FILES[BIG]).hexdigest()}"'
    headers = {**auth(who["ops"]), "Range": "bytes=0-9"}
    assert client.get(url(aip, BIG), headers={**headers, "If-Range": tag}).status_code == 206
    stale = client.get(url(aip, BIG), headers={**headers, "If-Range": '"0000"'})
    assert stale.status_code == 200 and stale.content == FILES[BIG]
    cached = client.get(url(aip, BIG), headers={**auth(who["ops"]), "If-None-Match": tag})
    assert cached.status_code == 304 and cached.content == b""
    other = client.get(url(aip, BIG), headers={**auth(who["ops"]), "If-None-Match": '"x"'})
    assert other.status_code == 200


def test_a_path_not_in_the_aip_is_404(client, aip, who):
    for path in ("no/such.txt", "../bagit.txt", "data/docs/notice.pdf", "bagit.txt"):
        response = client.get(url(aip, path), headers=auth(who["ops"]))
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
    unknown = client.get(f"/v1/aips/{uuid.uuid4()}/files/a.txt", headers=auth(who["ops"]))
    assert unknown.status_code == 404


def test_target_chooses_the_copy_and_unknown_targets_are_refused(client, aip, who):
    headers = auth(who["officer"])
    response = client.get(url(aip, CN) + "?target=site-b-nas", headers=headers)
    assert response.status_code == 200 and response.content == FILES[CN]
    assert response.headers["x-preserve-target"] == "site-b-nas"
    bad = client.get(url(aip, CN) + "?target=elsewhere", headers=headers)
    assert bad.status_code == 422 and "elsewhere" in bad.json()["detail"]


def test_a_lost_site_is_skipped_and_naming_it_is_503(rt, client, aip, who):
    wipe_target(rt, "site-a-disk")
    response = client.get(url(aip, CN), headers=auth(who["ops"]))
    assert response.status_code == 200 and response.content == FILES[CN]
    assert response.headers["x-preserve-target"] == "site-b-nas"
    named = client.get(url(aip, CN) + "?target=site-a-disk", headers=auth(who["ops"]))
    assert named.status_code == 503
    assert named.json()["type"].endswith("/no-healthy-copy")
    assert "site-a-disk" in named.json()["detail"]


def test_a_truncated_copy_is_skipped_for_a_whole_one(rt, client, aip, who):
    victim = replica_dir(rt, aip["id"], "site-a-disk") / "data" / CN
    victim.write_bytes(FILES[CN][:-1])
    response = client.get(url(aip, CN), headers=auth(who["ops"]))
    assert response.headers["x-preserve-target"] == "site-b-nas"
    assert response.content == FILES[CN]


def test_a_damaged_file_is_never_sent_whole(rt, aip):
    """Same size, one bit flipped: the last chunk is held back and the stream fails."""
    from preserve.access import files as access_files

    flip_byte(replica_dir(rt, aip["id"], "site-a-disk") / "data" / BIG, offset=5)
    with rt.sessions() as session:
        record = load_record(session, aip["id"])
    target, stream = access_files.open_payload(rt.stores, record, BIG, None)
    received = bytearray()
    with pytest.raises(IntegrityError, match="site-a-disk"):
        for chunk in access_files.iter_verified(stream, BIG, record.files[BIG], target):
            received += chunk
    assert 0 < len(received) < len(FILES[BIG])


def test_a_range_is_read_from_a_stream_that_cannot_seek():
    from preserve.access.files import ByteRange, iter_range

    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._data.read(min(len(buffer), 1000))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    data = bytes(range(256)) * 10_000
    got = b"".join(iter_range(io.BufferedReader(Pipe(data)), ByteRange(1_500_000, 2_000_000)))
    assert got == data[1_500_000:2_000_001]


# -- who may read -------------------------------------------------------------------------


def test_roles_and_agencies(client, aip, who, make_token):
    from preserve.catalog.models import Role

    path = url(aip, CN)
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth(who["other"])).status_code == 404
    download = f"/v1/aips/{aip['id']}/download"
    assert client.get(download, headers=auth(who["other"])).status_code == 404
    for role in ("submitter", "officer", "ops"):
        assert client.get(path, headers=auth(who[role])).status_code == 200
    outsiders = [r for r in Role if r.value not in ("submitter", "officer", "ops", "admin")]
    for role in outsiders:
        denied = client.get(path, headers=auth(make_token("archive", role)))
        assert denied.status_code == 403, role


# -- the whole AIP --------------------------------------------------------------------------


NEGOTIATION = [
    ("", None, "zip"),
    ("", "application/x-tar", "tar"),
    ("", "application/zip;q=0.5, application/x-tar", "tar"),
    ("", "*/*", "zip"),
    ("?format=tar", "application/zip", "tar"),
]


def test_the_download_unpacks_to_a_valid_bag(client, aip, who, tmp_path):
    for n, (query, accept, fmt) in enumerate(NEGOTIATION):
        headers = auth(who["submitter"]) | ({"Accept": accept} if accept else {})
        response = client.get(f"/v1/aips/{aip['id']}/download{query}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == ArchiveFormat(fmt).media_type, (query, accept)
        assert f"{aip['id']}.{fmt}" in response.headers["content-disposition"]
        bag = unpack_bag(response.content, fmt, tmp_path / str(n), aip["id"])
        root = Path(bag.path)
        assert {p: (root / "data" / p).read_bytes() for p in FILES} == FILES
        assert (root / "signature" / "tagmanifest-sha256.txt.sig").is_file()
        assert (root / "metadata" / "record.json").is_file()
        assert {"sha256", "sha512"} <= set(bag.algorithms)


def test_a_client_accepting_neither_format_gets_406(client, aip, who):
    headers = {**auth(who["ops"]), "Accept": "application/json"}
    response = client.get(f"/v1/aips/{aip['id']}/download", headers=headers)
    assert response.status_code == 406
    assert response.json()["type"].endswith("/not-acceptable")
    bad = client.get(f"/v1/aips/{aip['id']}/download?format=rar", headers=auth(who["ops"]))
    assert bad.status_code == 422


def test_the_download_comes_from_another_copy_when_a_site_is_lost(rt, client, aip, who, tmp_path):
    wipe_target(rt, "site-a-disk")
    response = client.get(f"/v1/aips/{aip['id']}/download", headers=auth(who["ops"]))
    assert response.status_code == 200
    assert response.headers["x-preserve-target"] == "site-b-nas"
    unpack_bag(response.content, "zip", tmp_path, aip["id"])
    wipe_target(rt, "site-b-nas")
    gone = client.get(f"/v1/aips/{aip['id']}/download", headers=auth(who["ops"]))
    assert gone.status_code == 503 and gone.headers["content-type"] == PROBLEM


def test_a_bad_tag_file_is_refused_before_the_response_starts(rt, client, aip, who):
    flip_byte(replica_dir(rt, aip["id"], "site-b-nas") / "metadata" / "record.json")
    response = client.get(
        f"/v1/aips/{aip['id']}/download?target=site-b-nas", headers=auth(who["ops"])
    )
    assert response.status_code == 503
    assert "record.json" in response.json()["detail"]
    fallback = client.get(f"/v1/aips/{aip['id']}/download", headers=auth(who["ops"]))
    assert fallback.status_code == 200


@pytest.mark.parametrize("fmt", list(ArchiveFormat))
def test_a_damaged_payload_cuts_the_archive_short(rt, aip, fmt):
    flip_byte(replica_dir(rt, aip["id"], "site-a-disk") / "data" / BIG, offset=3_000_000)
    with rt.sessions() as session:
        record = load_record(session, aip["id"])
    plan = plan_archive(choose_source(rt.stores, rt.trusted_keys(), record), record)
    received = bytearray()
    with pytest.raises(IntegrityError, match=BIG):
        for chunk in iter_archive(plan, fmt):
            received += chunk
    if fmt == ArchiveFormat.ZIP:
        with pytest.raises(zipfile.BadZipFile):
            zipfile.ZipFile(io.BytesIO(bytes(received)))
    else:
        with pytest.raises(tarfile.ReadError), tarfile.open(fileobj=io.BytesIO(received)) as tf:
            tf.extractfile(f"{aip['id']}/data/{BIG}").read()


def test_a_completed_download_is_an_access_event(rt, client, aip, who):
    client.get(f"/v1/aips/{aip['id']}/download", headers=auth(who["officer"])).read()
    client.get(url(aip, CN), headers=auth(who["officer"])).read()
    client.get(url(aip, CN), headers={**auth(who["officer"]), "Range": "bytes=0-1"}).read()
    with rt.sessions() as session:
        events = session.scalars(
            select(Event).where(Event.type == "access", Event.object_id == aip["id"])
        ).all()
        details = sorted(e.detail for e in events)
        assert {e.target for e in events} == {"site-a-disk"}
        replicas = session.scalars(select(Replica).where(Replica.aip_id == aip["id"])).all()
        assert {r.state.value for r in replicas} == {"verified"}
    assert len(details) == 2
    assert "whole AIP as zip" in details[1] and "officer of archive" in details[1]
    assert f"file data/{CN}" in details[0]


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/aips/{aip_id}/files/{path}" in paths
    download = paths["/v1/aips/{aip_id}/download"]["get"]
    assert {"200", "406", "503"} <= set(download["responses"])
    assert "application/x-tar" in download["responses"]["200"]["content"]
