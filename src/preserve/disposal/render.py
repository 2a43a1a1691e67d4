"""CSV and printable HTML for the disposal documents (labels Chinese first, English second)."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any

Columns = list[tuple[str, str, str]]


def csv_text(columns: Columns, rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"{zh} {en}" for _, zh, en in columns])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _, _ in columns])
    return out.getvalue()


def html_page(title: str, facts: list[str], columns: Columns, rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{escape(zh)}<br><small>{escape(en)}</small></th>" for _, zh, en in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(_cell(row.get(key)))}</td>" for key, _, _ in columns)
        + "</tr>"
        for row in rows
    )
    items = "".join(f"<li>{escape(fact)}</li>" for fact in facts)
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "th,td{border:1px solid #444;padding:4px;font-size:12px;vertical-align:top}"
        "@media print{body{margin:0}}</style></head><body>"
        f"<h1>{escape(title)}</h1><ul>{items}</ul>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是 yes" if value else ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
