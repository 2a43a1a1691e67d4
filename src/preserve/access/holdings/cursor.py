"""Opaque page cursors: the sort keys of the last row sent, so the next page starts after it.

Keyset paging over (sort key, id) never skips nor repeats a row when rows are inserted between
pages, unlike an offset. The cursor names the list and the sort it belongs to; any other use
is refused rather than silently giving a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from preserve.access.holdings.filters import InvalidListing

MAX_CURSOR = 2048


class InvalidCursor(InvalidListing):
    slug = "invalid-cursor"
    title = "The cursor is not valid for this list"


def encode(kind: str, sort: str, keys: list[Any]) -> str:
    values = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in keys]
    raw = json.dumps([kind, sort, values], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, kind: str, sort: str, arity: int) -> list[Any]:
    if len(token) > MAX_CURSOR:
        raise InvalidCursor("the cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        got_kind, got_sort, values = json.loads(raw)
        keys = [datetime.fromisoformat(v["t"]) if isinstance(v, dict) else v for v in values]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidCursor("the cursor is not one this server gave") from None
    if got_kind != kind or got_sort != sort or len(keys) != arity:
        raise InvalidCursor(f"the cursor belongs to another list or sort than {kind}s by {sort}")
    if not all(isinstance(k, str | int | datetime) for k in keys):
        raise InvalidCursor("the cursor is not one this server gave")
    return keys
