"""Builders for test records: metadata, a minimal PDF, multipart form fields."""

from __future__ import annotations

import json
from typing import Any

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
    b"0000000115 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n188\n%%EOF\n"
)


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
