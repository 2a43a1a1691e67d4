"""Statistics as JSON, CSV and an HTML page: the same rows, three shapes."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from preserve.access.statistics.queries import By, Row

FIELDS = ("key", "records", "files", "bytes")


def as_json(by: By, rows: list[Row]) -> dict[str, Any]:
    return {"by": by.value, "rows": [{f: getattr(r, f) for f in FIELDS} for r in rows]}


def as_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in rows:
        writer.writerow(["" if r.key is None else r.key, r.records, r.files, r.bytes])
    return out.getvalue()


def as_html(by: By, rows: list[Row]) -> str:
    def cell(value: Any) -> str:
        return html.escape("—" if value is None else str(value))

    body = "".join(
        f"<tr><td>{cell(r.key)}</td><td>{r.records}</td><td>{r.files}</td><td>{r.bytes}</td></tr>"
        for r in rows
    )
    total = (sum(r.records for r in rows), sum(r.files for r in rows), sum(r.bytes for r in rows))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Holdings by {by.value}</title></head><body>"
        f"<h1>Holdings by {by.value}</h1><table><thead><tr><th>{by.value}</th><th>records</th>"
        f"<th>files</th><th>bytes</th></tr></thead><tbody>{body}</tbody>"
        f"<tfoot><tr><th>total</th><td>{total[0]}</td><td>{total[1]}</td><td>{total[2]}</td>"
        "</tr></tfoot></table></body></html>\n"
    )
