"""Every bag of the Library of Congress BagIt conformance suite, zipped and tarred, through
``POST /v1/sips``: it gets the verdict its folder names. Warning cases are accepted, with the
warning in the SIP's report; windows-only cases are skipped on Linux (their paths are valid
POSIX names)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from bag_support import bag_files, multipart, serialize

from support.corpora import CORPORA_ENV
from support.http import auth
from support.records import metadata

VERDICTS = {"valid": "accept", "warning": "warn", "invalid": "reject", "linux-only": "reject"}


def _cases() -> list:
    root = os.environ.get(CORPORA_ENV)
    suite = Path(root) / "bagit-conformance-suite" if root else None
    if suite is None or not suite.is_dir():
        return [pytest.param(None, None, id="corpus-missing")]
    cases = []
    for folder in sorted(p for p in suite.glob("v*/*/*") if p.is_dir()):
        group = folder.parent.name
        marks = []
        if group == "windows-only":
            marks.append(pytest.mark.skipif(sys.platform != "win32", reason="Windows-only case"))
        ident = f"{folder.parent.parent.name}/{group}/{folder.name}"
        cases.append(pytest.param(folder, VERDICTS.get(group, "skip"), id=ident, marks=marks))
    return cases


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: bag validation does not touch the catalogue beyond recording the SIP, and
    the PostgreSQL path of the same code is covered by the other ingest tests."""
    return f"sqlite:///{tmp_path / 'catalogue.db'}"


@pytest.fixture
def token(make_token) -> str:
    return make_token()


@pytest.mark.parametrize(("folder", "verdict"), _cases())
def test_conformance_bag_gets_its_verdict(rt, client, token, folder, verdict):
    if folder is None:
        from support.corpora import corpus

        corpus("bagit-conformance-suite")  # skips or fails with the reason
    for kind in ("zip", "tar"):
        _send(rt, client, token, folder, verdict, kind)


def _send(rt, client, token, folder, verdict, kind) -> None:
    body = serialize(bag_files(folder), kind, top=folder.name)
    meta = json.dumps(metadata(archival_code=f"A001-BAG-2024-Y-{kind.upper()}"))
    form = multipart([("metadata", None, meta.encode()), ("bag", f"bag.{kind}", body)])
    response = client.post(
        "/v1/sips", content=form["content"], headers={**form["headers"], **auth(token)}
    )
    if verdict == "reject":
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["checks"] and all(c["outcome"] == "fail" for c in problem["checks"])
        sip = client.get(f"/v1/sips/{problem['sip_id']}", headers=auth(token)).json()
        assert sip["state"] == "REJECTED" and sip["reasons"]
        assert not rt.settings.staging_dir.joinpath(problem["sip_id"]).exists()
        return
    assert response.status_code == 202, response.text
    sip = client.get(f"/v1/sips/{response.json()['id']}", headers=auth(token)).json()
    bag_checks = [c for c in sip["checks"] if c["code"] in ("1-13", "1-12", "2-7", "P-1")]
    assert not [c for c in bag_checks if c["outcome"] == "fail"]
    if verdict == "warn":
        assert [c for c in bag_checks if c["outcome"] == "warn"], sip["checks"]
