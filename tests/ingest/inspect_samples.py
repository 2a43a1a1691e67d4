"""Payload files of several kinds, two of them encrypted (check 3-8), for the inspection tests."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from support.records import MINIMAL_PDF

ENCRYPTED_PDF = MINIMAL_PDF.replace(b"/Root 1 0 R>>", b"/Root 1 0 R/Encrypt 5 0 R>>")


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _zip(encrypted: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", b"hello")
    data = bytearray(buffer.getvalue())
    if encrypted:  # the general purpose flag's bit 0, in the local header and the central one
        data[6] |= 1
        central = data.index(b"PK\x01\x02")
        data[central + 8] |= 1
    return bytes(data)


SAMPLES = {
    "notice.pdf": MINIMAL_PDF,
    "locked.pdf": ENCRYPTED_PDF,
    "plain.zip": _zip(False),
    "locked.zip": _zip(True),
    "note.txt": "说明文字\n".encode(),
    "table.csv": b"a,b\n1,2\n",
    "page.html": b"<!DOCTYPE html><html><head><title>t</title></head><body></body></html>",
    "doc.xml": b'<?xml version="1.0" encoding="UTF-8"?><root/>',
    "image.png": _png(),
    "mystery.qqq": b"\x07" * 64,
}
