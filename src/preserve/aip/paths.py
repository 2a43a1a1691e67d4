"""Which relative paths a SIP may carry.

A path names where a file sits under the bag's ``data/``; it must stay there. Refused: empty
names, absolute paths (POSIX or Windows drive/UNC), ``..`` and ``.`` segments, backslashes,
control characters, and paths over 1,024 bytes. Names are NFC-normalised so two spellings of
the same Chinese or accented name cannot both be kept.
"""

from __future__ import annotations

import re
import unicodedata

from preserve.errors import UnsafePath

MAX_PATH_BYTES = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_relative_path(raw: str) -> str:
    """Return the normalised path or raise :class:`UnsafePath` naming what is wrong."""
    if not raw:
        raise UnsafePath("a file has an empty name")
    if _CONTROL.search(raw):
        raise UnsafePath(f"path {raw!r} contains a control character")
    if "\\" in raw:
        raise UnsafePath(f"path {raw!r} contains a backslash; use '/' between folders")
    if raw.startswith("/") or _DRIVE.match(raw):
        raise UnsafePath(f"path {raw!r} is absolute; paths must be relative")
    path = unicodedata.normalize("NFC", raw)
    segments = path.split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise UnsafePath(f"path {raw!r} has an empty, '.' or '..' segment")
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePath(f"path {raw!r} is not valid Unicode text") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise UnsafePath(f"path {raw[:60]!r}... is longer than {MAX_PATH_BYTES} bytes")
    return path
