"""Builders for test records: metadata, a minimal PDF, multipart form fields."""

from __future__ import annotations

import json
from typing import Any


def _minimal_pdf() -> bytes:
    """A one-page PDF whose cross-reference table is right (offsets computed), so that it
    passes check 3-4 without qpdf having to repair it."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Resources<<>>>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj" % number + body + b"endobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


MINIMAL_PDF = _minimal_pdf()


def metadata(**overrides: Any) -> dict[str, Any]:
    doc = {
        "title": "关于2024年档案工作的通知",
        "creator": "Provincial Archives Bureau",
        "date": "2024-03-01",
        "retention": "permanent",
        "archival_code": "A001-WS-2024-Y-0001",
    }
    doc.update(overrides)
    return doc


def form(
    files: dict[str, bytes] | list[tuple[str, bytes]],
    meta: dict[str, Any] | str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``post``: a multipart SIP body built by hand, so that odd cases
    (no files, duplicate paths, raw UTF-8 names) are sent exactly as written."""
    boundary = "preserve-test-boundary-7MA4YWxkTrZu0gW"
    parts: list[bytes] = []
    if meta is not None:
        text = meta if isinstance(meta, str) else json.dumps(meta, ensure_ascii=False)
        parts.append(
            b'Content-Disposition: form-data; name="metadata"\r\n'
            b"Content-Type: application/json\r\n\r\n" + text.encode("utf-8")
        )
    items = files.items() if isinstance(files, dict) else files
    for path, content in items:
        name = path.replace('"', "%22").encode("utf-8")
        parts.append(
            b'Content-Disposition: form-data; name="files"; filename="' + name + b'"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + content
        )
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return {
        "content": body,
        "headers": {**(headers or {}), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    }
