"""Rows printed as a table, JSON or CSV, with the next-page cursor a script can follow."""

from __future__ import annotations

import csv
import enum
import json
import sys
from datetime import datetime
from typing import Any

from rich.table import Table

from preserve.cli.common import console, err_console


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_text)


def print_page(
    rows: list[dict[str, Any]], columns: list[str], next_cursor: str | None, fmt: Format
) -> None:
    """JSON: ``{"items", "next_cursor"}`` on stdout. Table and CSV: the rows on stdout and
    ``next cursor: ...`` on stderr, so a pipe sees only rows."""
    if fmt is Format.JSON:
        print(to_json({"items": rows, "next_cursor": next_cursor}))
        return
    if fmt is Format.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_text(r.get(c)) for c in columns] for r in rows)
    else:
        table = Table(*columns)
        for r in rows:
            table.add_row(*(_text(r.get(c)) for c in columns))
        console.print(table)
    if next_cursor is not None:
        err_console.print(f"next cursor: {next_cursor}", markup=False, highlight=False)
