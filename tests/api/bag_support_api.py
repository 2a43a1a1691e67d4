"""A small agency bag (md5 manifests, Chinese names) serialized for the API tests."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from bag_support import serialize

from support.records import MINIMAL_PDF

INFO = (
    "Source-Organization: Provincial Archives Bureau\n"
    "Title: 关于2024年档案工作的通知\nCreator: 省档案局\nDate: 2024-03-01\n"
    "Retention: 永久\nArchival-Code: A001-WS-2024-Y-0042\n"
)


def bag_bytes(kind: str, info: bool = True, corrupt: bool = False) -> bytes:
    payload = {"data/通知.pdf": MINIMAL_PDF, "data/附件/说明.txt": "说明文字\n".encode()}
    manifest = "".join(f"{hashlib.md5(d).hexdigest()}  {p}\n" for p, d in payload.items())
    if corrupt:
        payload["data/附件/说明.txt"] = "说明文字!\n".encode()
    size = sum(len(d) for d in payload.values())
    files = {
        "bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": ((INFO if info else "") + f"Payload-Oxum: {size}.2\n").encode(),
        "manifest-md5.txt": manifest.encode(),
        **payload,
    }
    tags = "".join(
        f"{hashlib.md5(files[n]).hexdigest()}  {n}\n"
        for n in ("bagit.txt", "bag-info.txt", "manifest-md5.txt")
    )
    files["tagmanifest-md5.txt"] = tags.encode()
    return serialize(files, kind, top="record-bag")
