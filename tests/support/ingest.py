"""Ingest a record the way an agency does (multipart over HTTP), run every job, and return
the AIP id of the PRESERVED result."""

from __future__ import annotations

from typing import Any

from preserve.jobs.worker import drain
from support.http import auth
from support.records import form, metadata


def ingest(rt, client, make_token, files: dict[str, bytes], **meta: Any) -> str:
    headers = auth(make_token())
    response = client.post("/v1/sips", **form(files, metadata(**meta), headers=headers))
    assert response.status_code == 202, response.text
    drain(rt)
    sip = client.get(f"/v1/sips/{response.json()['id']}", headers=headers).json()
    assert sip["state"] == "PRESERVED", sip
    return sip["aip_id"]
