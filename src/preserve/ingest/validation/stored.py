"""Re-validation of a stored AIP (``preserve validate``): each payload file is copied from a
store into a scratch folder under staging, validated as at ingest, and the copy removed. The
AIP is not changed; a newer validator may find what an older one missed."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from preserve.aip.layout import aip_key
from preserve.ingest.validation.pool import validate_many
from preserve.ingest.validation.result import Item, Limits, Validation
from preserve.storage.base import ObjectNotFound, Store, read_bytes


def stored_mimes(store: Store, aip_id: str) -> dict[str, str | None]:
    """Path -> MIME type of its first match, from the AIP's ``metadata/formats.json``."""
    try:
        formats = json.loads(read_bytes(store, aip_key(aip_id, "metadata/formats.json")))
    except (ObjectNotFound, ValueError):
        return {}
    return {f["path"]: (f["matches"][0].get("mime") if f.get("matches") else None) for f in formats}


def revalidate(
    store: Store,
    aip_id: str,
    files: list[tuple[str, str | None]],
    limits: Limits,
    scratch_root: Path,
    workers: int = 2,
) -> list[Validation]:
    """Every ``(path, puid)`` of the AIP validated from ``store``, in order."""
    mimes = stored_mimes(store, aip_id)
    scratch = scratch_root / f"validate-{uuid.uuid4().hex}"
    scratch.mkdir(parents=True)
    try:
        items = []
        for n, (path, puid) in enumerate(files):
            local = scratch / str(n)
            with store.open(aip_key(aip_id, f"data/{path}")) as src, local.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            items.append(Item(local, path, puid, mimes.get(path)))
        return validate_many(items, limits, workers=workers)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
