"""Reports kept beside the catalogue as JSON files (``<data dir>/reports/<kind>/<name>.json``,
mode 0600, written whole or not at all): the last reconcile of each target, every recovery
drill. Read by the console; written by the edge that ran them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from preserve.durable import write_file
from preserve.errors import NotFound

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def _path(data_dir: Path, kind: str, name: str) -> Path:
    if not _NAME.match(name) or not _NAME.match(kind):
        raise NotFound(f"no {kind} report {name[:60]!r}")
    return data_dir / "reports" / kind / f"{name}.json"


def keep(data_dir: Path, kind: str, name: str, doc: dict[str, Any]) -> None:
    text = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True)
    write_file(_path(data_dir, kind, name), text.encode("utf-8"), mode=0o600)


def read(data_dir: Path, kind: str, name: str) -> dict[str, Any]:
    try:
        return json.loads(_path(data_dir, kind, name).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        raise NotFound(f"no {kind} report {name[:60]!r}") from None


def names(data_dir: Path, kind: str) -> list[str]:
    """The kept reports of ``kind``, newest name first (names start with their time)."""
    folder = data_dir / "reports" / kind
    if not folder.is_dir():
        return []
    found = [p.stem for p in folder.glob("*.json") if _NAME.match(p.stem)]
    return sorted(found, reverse=True)


def read_all(data_dir: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """Every kept report of ``kind`` with its name, newest name first."""
    out = []
    for name in names(data_dir, kind):
        try:
            out.append((name, read(data_dir, kind, name)))
        except NotFound:
            continue  # removed between the listing and the reading
    return out
