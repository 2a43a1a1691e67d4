"""Check 3-8: content an archive could not open in fifty years (encrypted, password-protected).

Each probe reads only what it needs, so it can run beside format identification in the same
worker process:

- PDF: an ``/Encrypt`` entry in a trailer or cross-reference stream dictionary. Both sit in
  the file's last part (and, in a linearised file, its first part): the first and last
  ``PDF_WINDOW`` bytes are searched.
- ZIP (OOXML, ODF, OFD, plain ZIP): any entry with the encryption flag (bit 0 of the general
  purpose flags; AES entries set it too); ODF's ``manifest.xml`` ``encryption-data``.
- OLE2: an encrypted OOXML document is an OLE2 file with ``EncryptionInfo`` and
  ``EncryptedPackage`` streams; Word 97-2003 sets ``fEncrypted`` in the FIB; Excel 97-2003
  begins its workbook stream with a ``FILEPASS`` record; PowerPoint keeps an
  ``EncryptedSummary`` stream.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from pathlib import Path

import olefile

PDF_WINDOW = 1024 * 1024
_PDF_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")


def encryption_problem(path: str | os.PathLike) -> str | None:
    """Why the file is encrypted or password-protected, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
        if head.startswith(b"%PDF-"):
            return _pdf(Path(path))
        if head.startswith(b"PK\x03\x04"):
            return _zip(Path(path))
        if head.startswith(olefile.MAGIC):
            return _ole(Path(path))
    except (OSError, zipfile.BadZipFile, struct.error, ValueError):
        return None  # damaged: identification says so; not evidence of encryption
    return None


def _pdf(path: Path) -> str | None:
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(PDF_WINDOW)
        tail = b""
        if size > PDF_WINDOW:
            f.seek(max(PDF_WINDOW, size - PDF_WINDOW))
            tail = f.read()
    if _PDF_ENCRYPT.search(head) or _PDF_ENCRYPT.search(tail):
        return "PDF is encrypted (/Encrypt in its trailer)"
    return None


def _zip(path: Path) -> str | None:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.flag_bits & 0x1:
                return f"ZIP entry {info.filename!r} is password-protected"
        if "META-INF/manifest.xml" in archive.namelist():
            with archive.open("META-INF/manifest.xml") as manifest:
                if b"encryption-data" in manifest.read(4 * 1024 * 1024):
                    return "OpenDocument file is password-protected (encryption-data)"
    return None


def _ole(path: Path) -> str | None:
    with olefile.OleFileIO(str(path)) as ole:
        if ole.exists("EncryptionInfo") and ole.exists("EncryptedPackage"):
            return "Office document is password-protected (EncryptedPackage)"
        if ole.exists("EncryptedSummary"):
            return "PowerPoint document is password-protected (EncryptedSummary)"
        if ole.exists("WordDocument"):
            with ole.openstream("WordDocument") as stream:
                fib = stream.read(12)
            if len(fib) >= 12 and struct.unpack_from("<H", fib, 10)[0] & 0x0100:
                return "Word document is password-protected (fEncrypted)"
        for name in ("Workbook", "Book"):
            if ole.exists(name) and _xls_filepass(ole, name):
                return "Excel workbook is password-protected (FILEPASS)"
    return None


def _xls_filepass(ole: olefile.OleFileIO, name: str) -> bool:
    """Walk the first records of the workbook globals: FILEPASS (0x2F) comes before any data."""
    with ole.openstream(name) as stream:
        data = stream.read(64 * 1024)
    offset = 0
    for _ in range(64):
        if offset + 4 > len(data):
            return False
        kind, length = struct.unpack_from("<HH", data, offset)
        if kind == 0x002F:
            return True
        if kind == 0x000A:  # EOF of the globals substream
            return False
        offset += 4 + length
    return False
