"""One way every command prints its result: ``--format table|json|csv|html`` and
``-o/--output FILE``.

A command builds a :class:`Result` (the rows a table, CSV or HTML page shows, the JSON
document, and the lines that follow a table) and calls :func:`emit`. Tables stay readable at
80 columns: cells fold rather than vanish into an ellipsis, and a table too wide for the
terminal is printed one record per block (``column: value``) instead.
"""

from __future__ import annotations

import csv
import enum
import html
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from preserve.cli.common import console, err_console


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


_LONGEST_WORD = 40  # a word (an id, a timestamp) up to this long is never split in a table


def format_option(default: Format = Format.TABLE) -> Any:
    return typer.Option(default, "--format", help="table, json, csv or html.")


def output_option() -> Any:
    return typer.Option(None, "--output", "-o", help="Write the result to this file.")


def hidden_alias(name: str, help_: str) -> Any:
    """An old spelling kept so scripts keep working; not shown in ``--help``."""
    return typer.Option(None, name, hidden=True, help=help_)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=text)


@dataclass
class Result:
    """What a command found: ``rows`` (dicts keyed by ``columns``) for table, CSV and HTML;
    ``data`` for JSON (default: the rows); ``lines`` printed after a table or as notes."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    data: Any = None
    lines: list[str] = field(default_factory=list)
    table_columns: list[str] | None = None  # a table may show fewer columns than CSV
    render_html: Callable[[], str] | None = None  # a command's own page, when it has one
    render_csv: Callable[[], str] | None = None
    styles: dict[str, Callable[[dict[str, Any]], str]] = field(default_factory=dict)
    show_table: bool = True  # False: the table format is the lines alone (a one-line summary)

    def json_text(self) -> str:
        return to_json(self.rows if self.data is None else self.data) + "\n"

    def csv_text(self) -> str:
        if self.render_csv is not None:
            return self.render_csv()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([text(r.get(c)) for c in self.columns] for r in self.rows)
        return out.getvalue()

    def html_text(self) -> str:
        if self.render_html is not None:
            return self.render_html()
        return html_page(self.title, self.columns, self.rows, self.lines)


def emit(result: Result, fmt: Format, output: Path | None = None) -> None:
    """Print ``result`` in ``fmt`` on stdout, or write it to ``output`` (and say so on
    stderr, so stdout stays the result alone)."""
    if fmt is Format.TABLE:
        if output is None:
            print_table(result, console)
            return
        buffer = io.StringIO()
        print_table(result, Console(file=buffer, width=120, no_color=True, highlight=False))
        written = buffer.getvalue()
    elif fmt is Format.JSON:
        written = result.json_text()
    elif fmt is Format.CSV:
        written = result.csv_text()
    else:
        written = result.html_text()
    if output is None:
        sys.stdout.write(written)
    else:
        output.write_text(written, encoding="utf-8")
        err_console.print(f"wrote {output}", markup=False, highlight=False)


def print_table(result: Result, out: Console) -> None:
    columns = result.table_columns or result.columns
    cells = [[text(r.get(c)) for c in columns] for r in result.rows]
    widths = _min_widths(columns, cells)
    if result.show_table and result.rows and sum(widths) + 3 * len(widths) + 1 > out.width:
        _print_records(result.title, columns, result.rows, cells, result.styles, out)
    elif result.show_table and (result.rows or not result.lines):
        table = Table(title=result.title or None, title_justify="left")
        for column, width in zip(columns, widths, strict=True):
            table.add_column(column, overflow="fold", min_width=width)
        for row, values in zip(result.rows, cells, strict=True):
            table.add_row(*_styled(columns, row, values, result.styles))
        out.print(table)
    for line in result.lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


def _min_widths(columns: list[str], cells: list[list[str]]) -> list[int]:
    """Each column's narrowest width that splits no word (ids, timestamps, numbers); a table
    that cannot give every column that much is printed as records instead."""
    widths = []
    for i, column in enumerate(columns):
        words = [w for row in cells for w in row[i].split()] + column.split()
        widths.append(min(max((cell_len(w) for w in words), default=1), _LONGEST_WORD))
    return widths


def _print_records(title, columns, rows, cells, styles, out: Console) -> None:
    """One block per row, ``column  value``, values wrapped in their own column."""
    if title:
        out.print(title, markup=False, highlight=False)
    for row, values in zip(rows, cells, strict=True):
        out.print("-" * min(out.width, 40), markup=False, highlight=False)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for column, value in zip(columns, _styled(columns, row, values, styles), strict=True):
            grid.add_row(column, value)
        out.print(grid)


def _styled(columns, row, values, styles) -> list[str]:
    """Cells as rich markup: escaped text, with a style where the command asked for one."""
    from rich.markup import escape

    shown = []
    for column, value in zip(columns, values, strict=True):
        style = styles[column](row) if column in styles else ""
        shown.append(f"[{style}]{escape(value)}[/]" if style and value else escape(value))
    return shown


def html_page(title: str, columns: list[str], rows: list[dict[str, Any]], lines: list[str]) -> str:
    """One self-contained page: no outside assets, printable."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(text(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    notes = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font:14px sans-serif;margin:2em}}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:3px 6px;"
        "text-align:left;vertical-align:top}th{background:#eee}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table><ul>{notes}</ul></body></html>\n"
    )


def print_page(
    rows: list[dict[str, Any]],
    columns: list[str],
    next_cursor: str | None,
    fmt: Format,
    output: Path | None = None,
    title: str = "",
) -> None:
    """A page of a list. JSON: ``{"items", "next_cursor"}``. Table, CSV and HTML: the rows,
    and ``next cursor: ...`` on stderr, so a pipe sees only rows."""
    data = {"items": rows, "next_cursor": next_cursor}
    emit(Result(title, columns, rows, data=data), fmt, output)
    if next_cursor is not None and fmt is not Format.JSON:
        err_console.print(f"next cursor: {next_cursor}", markup=False, highlight=False)
