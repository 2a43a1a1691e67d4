"""The ways in and the four-property report over HTTP: serialized bags as the whole body,
sender digests, Content-Digest, idempotency, duplicates, format policy, encryption, viruses
(a real clamd), the BagIt profile, receipts, and rejections on record."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from bag_support_api import bag_bytes

from preserve.catalog.models import Event
from preserve.ingest import receipt as receipts
from preserve.jobs.worker import drain
from support.http import auth
from support.records import MINIMAL_PDF, form, metadata

PROBLEM = "application/problem+json"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture
def token(make_token) -> str:
    return make_token()


def sip_of(client, token, sip_id) -> dict:
    return client.get(f"/v1/sips/{sip_id}", headers=auth(token)).json()


def checks_by_code(sip: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for check in sip["checks"]:
        out.setdefault(check["code"], set()).add(check["outcome"])
    return out


@pytest.mark.parametrize(
    ("kind", "media"),
    [("zip", "application/zip"), ("tar", "application/x-tar"), ("tar.gz", "application/gzip")],
)
def test_a_bag_as_the_whole_body_takes_its_metadata_from_bag_info(rt, client, token, kind, media):
    body = bag_bytes(kind, info=True)
    response = client.post("/v1/sips", content=body, headers={**auth(token), "Content-Type": media})
    assert response.status_code == 202, response.text
    drain(rt)
    sip = sip_of(client, token, response.json()["id"])
    assert sip["state"] == "PRESERVED", sip
    assert sip["source"] == "bag" and sip["metadata"]["archival_code"] == "A001-WS-2024-Y-0042"
    assert checks_by_code(sip)["2-7"] == {"pass"} and checks_by_code(sip)["1-12"] == {"pass"}
    aip = client.get(f"/v1/aips/{sip['aip_id']}", headers=auth(token)).json()
    assert {f["path"] for f in aip["files"]} == {"通知.pdf", "附件/说明.txt"}
    stored = next(Path(rt.profile().targets[0].root).rglob(f"{sip['aip_id']}"))
    manifests = sorted(p.name for p in stored.glob("manifest-*.txt"))
    assert manifests[:2] == ["manifest-sha256.txt", "manifest-sha512.txt"]  # re-hashed, not md5
    assert (stored / "metadata" / "sip" / "manifest-md5.txt").is_file()  # the sender's kept
    report = json.loads((stored / "metadata" / "checks.json").read_text())
    assert report["checks"] == sip["checks"]
    kept = json.loads((stored / "metadata" / "receipt.json").read_text())
    assert receipts.check(kept, rt.trusted_keys())["aip_id"] == sip["aip_id"]


def test_a_bag_without_record_metadata_is_refused_naming_the_items(rt, client, token):
    body = bag_bytes("zip", info=False)
    response = client.post(
        "/v1/sips", content=body, headers={**auth(token), "Content-Type": "application/zip"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/invalid-metadata")
    assert "title" in response.json()["detail"]


def test_a_bag_with_a_corrupt_file_is_refused_naming_each_file(rt, client, token):
    body = bag_bytes("tar", info=True, corrupt=True)
    response = client.post(
        "/v1/sips", content=body, headers={**auth(token), "Content-Type": "application/x-tar"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/digest-mismatch")
    assert "data/附件/说明.txt" in problem["detail"]
    assert not rt.settings.staging_dir.joinpath(problem["sip_id"]).exists()


def test_several_failed_checks_are_all_listed_and_the_rejection_is_on_record(rt, client, token):
    meta = metadata(retention="forever", date="2099-01-01", files={"a.txt": {"size": 5}})
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, meta, headers=auth(token)))
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/checks-failed")
    assert {c["code"] for c in problem["checks"]} == {"1-4", "1-5", "2-2"}
    sip = sip_of(client, token, problem["sip_id"])
    assert sip["state"] == "REJECTED" and len(sip["reasons"]) == 3
    with rt.sessions.begin() as session:
        event = session.query(Event).filter_by(object_id=problem["sip_id"]).one()
        assert event.type == "rejection" and event.agency_id is not None
    assert not rt.settings.staging_dir.joinpath(problem["sip_id"]).exists()


def test_declared_counts_and_sizes_are_checked(rt, client, token):
    meta = metadata(files={"a.txt": {"size": 1}, "missing.txt": {}})
    response = client.post(
        "/v1/sips", **form({"a.txt": b"x", "b.txt": b"y"}, meta, headers=auth(token))
    )
    assert response.status_code == 422
    details = " ".join(c["detail"] for c in response.json()["checks"])
    assert "missing.txt: declared in metadata but not received" in details
    assert "b.txt: received but not declared" in details
    good = metadata(files={"a.txt": {"size": 1, "sha256": hashlib.sha256(b"x").hexdigest()}})
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, good, headers=auth(token)))
    assert response.status_code == 202
    sip = sip_of(client, token, response.json()["id"])
    assert checks_by_code(sip)["2-1"] == checks_by_code(sip)["2-7"] == {"pass"}


def test_content_digest_is_checked(rt, client, token):
    body = form({"a.txt": b"x"}, metadata(), headers=auth(token))
    good = base64.b64encode(hashlib.sha256(body["content"]).digest()).decode()
    ok = client.post(
        "/v1/sips",
        content=body["content"],
        headers={**body["headers"], "Content-Digest": f"sha-256=:{good}:"},
    )
    assert ok.status_code == 202, ok.text
    assert checks_by_code(sip_of(client, token, ok.json()["id"]))["1-12"] == {"pass"}
    body = form({"a.txt": b"x"}, metadata(archival_code="A001-WS-2024-Y-0002"), headers=auth(token))
    bad = client.post(
        "/v1/sips",
        content=body["content"],
        headers={**body["headers"], "Content-Digest": f"sha-256=:{good}:"},
    )
    assert bad.status_code == 422 and bad.json()["type"].endswith("/digest-mismatch")


def test_an_archival_code_already_held_warns_or_is_refused_as_the_profile_says(rt, client, token):
    first = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=auth(token)))
    assert first.status_code == 202
    assert checks_by_code(sip_of(client, token, first.json()["id"]))["1-8"] == {"pass"}
    drain(rt)
    lenient = client.post("/v1/sips", **form({"b.txt": b"y"}, metadata(), headers=auth(token)))
    assert lenient.status_code == 202
    assert checks_by_code(sip_of(client, token, lenient.json()["id"]))["1-8"] == {"warn"}
    agency_profile(rt, duplicate_archival_code="fail")
    strict = client.post("/v1/sips", **form({"c.txt": b"z"}, metadata(), headers=auth(token)))
    assert strict.status_code == 422
    assert strict.json()["type"].endswith("/duplicate-archival-code")


def test_idempotency_key_replays_the_original_and_refuses_other_content(rt, client, token):
    headers = {**auth(token), "Idempotency-Key": "order-2024-0001"}
    first = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=headers))
    assert first.status_code == 202
    retry = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=headers))
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    other = client.post("/v1/sips", **form({"a.txt": b"changed"}, metadata(), headers=headers))
    assert other.status_code == 409 and other.json()["type"].endswith("/idempotency-key-reused")
    with rt.sessions.begin() as session:
        from preserve.catalog.models import Sip

        assert session.query(Sip).count() == 1
    assert sorted(p.name for p in rt.settings.staging_dir.iterdir()) == [first.json()["id"]]


def test_a_refused_request_does_not_take_its_idempotency_key(rt, client, token):
    headers = {**auth(token), "Idempotency-Key": "k-1"}
    bad = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(retention="x"), headers=headers))
    assert bad.status_code == 422
    good = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=headers))
    assert good.status_code == 202


def agency_profile(rt, **settings) -> None:
    folder = rt.settings.profiles_dir / "ingest"
    folder.mkdir(exist_ok=True)
    (folder / "agency-a.json").write_text(json.dumps(settings), encoding="utf-8")


def test_a_format_the_policy_rejects_moves_the_sip_to_rejected(rt, client, token):
    agency_profile(rt, format_policy={"rejected": ["x-fmt/111"], "preferred": ["fmt/18"]})
    response = client.post(
        "/v1/sips",
        **form({"a.pdf": MINIMAL_PDF, "notes.txt": b"plain\n"}, metadata(), headers=auth(token)),
    )
    assert response.status_code == 202
    drain(rt)
    sip = sip_of(client, token, response.json()["id"])
    assert sip["state"] == "REJECTED"
    assert any("notes.txt" in r and "3-3" in r for r in sip["reasons"])
    assert not rt.settings.staging_dir.joinpath(sip["id"]).exists()
    receipt = client.get(f"/v1/sips/{sip['id']}/receipt", headers=auth(token))
    assert receipt.status_code == 409 and "rejected" in receipt.json()["detail"]


def test_an_encrypted_pdf_is_rejected_and_a_plain_one_passes(rt, client, token):
    locked = MINIMAL_PDF.replace(b"trailer<</Size 4", b"trailer<</Encrypt 5 0 R/Size 4")
    response = client.post(
        "/v1/sips", **form({"locked.pdf": locked}, metadata(), headers=auth(token))
    )
    drain(rt)
    sip = sip_of(client, token, response.json()["id"])
    assert sip["state"] == "REJECTED" and any(
        "3-8" in r and "locked.pdf" in r for r in sip["reasons"]
    )
    ok = client.post(
        "/v1/sips",
        **form(
            {"plain.pdf": MINIMAL_PDF},
            metadata(archival_code="A001-WS-2024-Y-0003"),
            headers=auth(token),
        ),
    )
    drain(rt)
    assert checks_by_code(sip_of(client, token, ok.json()["id"]))["3-8"] == {"pass"}


@pytest.fixture
def clamd_socket(tmp_path_factory) -> str:
    """A real clamd (Debian's clamav-daemon) with a signature database made here, holding
    only the EICAR test file's signature."""
    binary = shutil.which("clamd") or (
        "/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None
    )
    if binary is None:
        pytest.skip(
            "clamd is not installed (apt-get install clamav-daemon): "
            "4-2 against a real clamd skipped"
        )
    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    (root / "db" / "eicar.hdb").write_text(
        f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Preserve-Test-EICAR\n"
    )
    conf = root / "clamd.conf"
    sock = root / "clamd.sock"
    conf.write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {root / 'db'}\nForeground yes\n"
        f"LogFile {root / 'clamd.log'}\nTemporaryDirectory {root}\n"
    )
    proc = subprocess.Popen(
        [binary, f"--config-file={conf}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(sock))
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"clamd did not start: {(root / 'clamd.log').read_text()}")
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_virus_check_through_a_real_clamd(rt, client, token, clamd_socket):
    agency_profile(rt, virus_check={"clamd": clamd_socket, "required": True})
    infected = client.post(
        "/v1/sips",
        **form({"x/eicar.com": EICAR, "ok.txt": b"fine\n"}, metadata(), headers=auth(token)),
    )
    clean = client.post(
        "/v1/sips",
        **form(
            {"ok.txt": b"fine\n"},
            metadata(archival_code="A001-WS-2024-Y-0004"),
            headers=auth(token),
        ),
    )
    drain(rt)
    bad = sip_of(client, token, infected.json()["id"])
    assert bad["state"] == "REJECTED"
    assert any(
        "4-2" in r and "x/eicar.com" in r and "Preserve-Test-EICAR" in r for r in bad["reasons"]
    )
    good = sip_of(client, token, clean.json()["id"])
    assert good["state"] == "PRESERVED" and checks_by_code(good)["4-2"] == {"pass"}


def test_without_clamd_the_virus_check_is_a_warning(rt, client, token):
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=auth(token)))
    drain(rt)
    sip = sip_of(client, token, response.json()["id"])
    assert sip["state"] == "PRESERVED" and checks_by_code(sip)["4-2"] == {"warn"}


def test_the_receipt_is_signed_canonical_json_of_the_accepted_sip(rt, client, token):
    response = client.post("/v1/sips", **form({"a.txt": b"x"}, metadata(), headers=auth(token)))
    early = client.get(f"/v1/sips/{response.json()['id']}/receipt", headers=auth(token))
    assert early.status_code == 409
    drain(rt)
    document = client.get(f"/v1/sips/{response.json()['id']}/receipt", headers=auth(token)).json()
    receipt = receipts.check(document, rt.trusted_keys())
    assert receipt["files"] == [
        {"path": "a.txt", "size": 1, "sha256": hashlib.sha256(b"x").hexdigest()}
    ]
    assert {c["code"] for c in receipt["checks"]} >= {"2-1", "2-3", "3-3", "4-2"}
    document["receipt"]["agency"] = "someone else"
    with pytest.raises(Exception, match="does not match"):
        receipts.check(document, rt.trusted_keys())


def test_the_bagit_profile_is_served_without_a_token(client):
    profile = client.get("/v1/bagit-profile").json()
    assert profile["BagIt-Profile-Info"]["BagIt-Profile-Version"] == "1.4.0"
    assert profile["Bag-Info"]["Archival-Code"]["required"] is True
    assert profile["Bag-Info"]["Retention"]["values"] == ["permanent", "30y", "10y"]
    assert "md5" in profile["Manifests-Allowed"] and "1.0" in profile["Accept-BagIt-Version"]
