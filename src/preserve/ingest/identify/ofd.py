"""Our local rule for OFD (GB/T 33190, 版式文档), which PRONOM has no entry for.

``preserve-fmt/ofd``, MIME ``application/ofd``, method ``local``: a ZIP file with ``OFD.xml`` at
its root. PRONOM can only call such a file x-fmt/263 (ZIP); whatever engine answered, the local
match is put first and the engine's matches follow it.
"""

from __future__ import annotations

import os
import zipfile

from preserve.ingest.identify.model import OFD_MATCH, FormatMatch

OFD_ROOT_ENTRY = "OFD.xml"
_ZIP_MAGIC = b"PK\x03\x04"


def has_ofd_root(path: str | os.PathLike) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            archive.getinfo(OFD_ROOT_ENTRY)
    except (KeyError, OSError, zipfile.BadZipFile):
        return False
    return True


def is_zip(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == _ZIP_MAGIC
    except OSError:
        return False


def with_ofd(
    path: str | os.PathLike, matches: tuple[FormatMatch, ...], zip_seen: bool | None = None
) -> tuple[FormatMatch, ...]:
    """``matches`` with the OFD match first when the file is a ZIP with ``OFD.xml`` at its root.
    ``zip_seen``: the engine already knows whether the file is a ZIP (None: look)."""
    if zip_seen is None:
        zip_seen = is_zip(path)
    if zip_seen and has_ofd_root(path):
        return (OFD_MATCH, *(m for m in matches if m.puid != OFD_MATCH.puid))
    return matches
