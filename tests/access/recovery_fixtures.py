"""Helpers shared by the access tests: preserved AIPs made through the real API and worker."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from preserve.aip.layout import aip_prefix
from preserve.catalog.models import Role
from preserve.jobs.worker import drain
from support.http import auth
from support.records import MINIMAL_PDF, form, metadata

FILES = {
    "docs/notice.pdf": MINIMAL_PDF,
    "文书档案/2024年/关于档案工作的通知.txt": "通知正文\n".encode() * 100,
    "附件/图表/统计 表.csv": b"year,count\n2024,17\n",
    "big/blob.bin": bytes(range(256)) * 12_000,  # 3 MiB: more than one read chunk
}


def ingest(rt, client, token: str, files: dict[str, bytes] | None = None, **meta) -> dict:
    """Push a SIP over HTTP, run every job, return the AIP as the API shows it."""
    body = form(files or FILES, metadata(**meta), headers=auth(token))
    response = client.post("/v1/sips", **body)
    assert response.status_code == 202, response.text
    drain(rt)
    sip = client.get(f"/v1/sips/{response.json()['id']}", headers=auth(token)).json()
    assert sip["state"] == "PRESERVED", sip
    return client.get(f"/v1/aips/{sip['aip_id']}", headers=auth(token)).json()


def replica_dir(rt, aip_id: str, target: str) -> Path:
    return Path(rt.profile().target(target).root) / aip_prefix(aip_id)


def flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def wipe_target(rt, target: str) -> None:
    """The site is lost: its whole directory goes."""
    shutil.rmtree(rt.profile().target(target).root)


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not os.path.islink(p)
    }


def tokens(make_token) -> dict[str, str]:
    return {
        "submitter": make_token("agency-a", Role.SUBMITTER),
        "other": make_token("agency-b", Role.SUBMITTER),
        "officer": make_token("archive", Role.OFFICER),
        "ops": make_token("archive", Role.OPS),
    }
