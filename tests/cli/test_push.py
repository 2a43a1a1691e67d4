"""``preserve push`` against a real ``preserve serve``: the URL and token are checked before
anything is hashed, a broken metadata file is one line, a resumed upload is announced, the
summary is one line and the full receipt goes only into ``--receipt``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from preserve.cli.push import archive_folder
from support.records import metadata
from support.server import free_port, run_cli

pytestmark = pytest.mark.slow
TUS = {"Tus-Resumable": "1.0.0"}


def _record(tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "record"
    record.mkdir()
    (record / "notice.txt").write_text("通知正文\n" * 100, encoding="utf-8")
    (record / "large.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(metadata(), ensure_ascii=False), encoding="utf-8")
    return record, meta


def _push(env, url, token, record, meta, tmp_path, *extra):
    return run_cli(
        env,
        *("push", str(record), "--metadata", str(meta), "--url", url, "--token", token),
        *("--large-mib", "1", "--state-dir", str(tmp_path / "state"), *extra),
    )


def _one_error(done, *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "hashing" not in done.stderr and "Traceback" not in done.stderr


def test_a_wrong_token_or_url_or_metadata_fails_before_hashing(served):
    server, env, token, tmp_path = served
    record, meta = _record(tmp_path)

    _one_error(_push(env, server.url, "wrong", record, meta, tmp_path), "refused the token")
    nobody = f"http://127.0.0.1:{free_port()}"
    _one_error(_push(env, nobody, token, record, meta, tmp_path), "cannot reach")
    meta.write_text("{not json", encoding="utf-8")
    _one_error(_push(env, server.url, token, record, meta, tmp_path), "is not JSON")
    assert not (tmp_path / "state").exists()


def test_push_prints_one_line_and_a_second_run_sends_nothing(served):
    server, env, token, tmp_path = served
    record, meta = _record(tmp_path)
    receipt = tmp_path / "receipt.json"

    done = _push(env, server.url, token, record, meta, tmp_path, "--receipt", str(receipt))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 1
    assert done.stdout.startswith("SIP ") and "receipt verified" in done.stdout
    assert json.loads(receipt.read_text())["receipt"]["file_count"] == 2

    again = _push(env, server.url, token, record, meta, tmp_path, "--format", "json")
    assert again.returncode == 0, again.stderr
    assert "already pushed by a previous run" in again.stderr and "sending" not in again.stderr
    summary = json.loads(again.stdout)
    assert summary["replayed"] is True and summary["files"] == 2
    assert summary["sip_id"] == done.stdout.split()[1]


def test_push_says_when_it_resumes_an_upload(served):
    server, env, token, tmp_path = served
    record, meta = _record(tmp_path)
    auth = {"Authorization": f"Bearer {token}", **TUS}
    size = (record / "large.bin").stat().st_size
    with httpx.Client(base_url=server.url, headers=auth) as http:
        made = http.post("/v1/uploads", headers={"Upload-Length": str(size)})
        location = made.headers["Location"]
        head = (record / "large.bin").read_bytes()[: 1024 * 1024]
        sent = http.patch(
            location,
            content=head,
            headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert sent.status_code == 204
    states = tmp_path / "state" / archive_folder(server.url)
    states.mkdir(parents=True)
    (states / "resume-me.json").write_text(json.dumps({"uploads": {"large.bin": location}}))

    done = _push(env, server.url, token, record, meta, tmp_path, "--idempotency-key", "resume-me")
    assert done.returncode == 0, done.stderr
    assert "resuming 1 upload(s) of a previous run" in done.stderr
    assert "receipt verified" in done.stdout


def test_a_remembered_sip_the_archive_does_not_know_is_sent_again(served):
    """A state file from another archive (or a rebuilt one) saves nothing and stops nothing."""
    server, env, token, tmp_path = served
    record, meta = _record(tmp_path)
    states = tmp_path / "state" / archive_folder(server.url)
    states.mkdir(parents=True)
    unknown = "00000000-0000-4000-8000-000000000000"
    (states / "stale.json").write_text(json.dumps({"sip_id": unknown, "state": "PRESERVED"}))

    done = _push(env, server.url, token, record, meta, tmp_path, "--idempotency-key", "stale")
    assert done.returncode == 0, done.stderr
    assert f"remembers SIP {unknown}, which this archive does not know" in done.stderr
    assert unknown not in done.stdout and "receipt verified" in done.stdout
    assert json.loads((states / "stale.json").read_text())["sip_id"] != unknown
