"""Where an AIP's files live inside every store (docs/architecture.md, "Layout inside a store").

``aips/ab/cd/<aip-id>/...``: the first two hex pairs of the UUID spread AIPs over 65,536
prefixes so no directory or S3 prefix grows to millions of entries (OCFL's hashed n-tuple idea).
"""

from __future__ import annotations

import uuid

AIP_ROOT = "aips"


def aip_prefix(aip_id: str) -> str:
    hex_id = uuid.UUID(aip_id).hex
    return f"{AIP_ROOT}/{hex_id[0:2]}/{hex_id[2:4]}/{aip_id}/"


def aip_key(aip_id: str, relpath: str) -> str:
    return aip_prefix(aip_id) + relpath


def parse_aip_key(key: str) -> tuple[str, str] | None:
    """Split a store key into (aip_id, path inside the bag), or None for other objects."""
    parts = key.split("/", 4)
    if len(parts) < 5 or parts[0] != AIP_ROOT:
        return None
    try:
        uuid.UUID(parts[3])
    except ValueError:
        return None
    return parts[3], parts[4]
