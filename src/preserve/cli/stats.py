"""``preserve stats``: the numbers of ``GET /v1/statistics``, from the catalogue directly."""

from __future__ import annotations

import json

import typer

from preserve.access.statistics.queries import By, statistics
from preserve.access.statistics.render import as_csv, as_html, as_json
from preserve.catalog.db import session_scope
from preserve.cli.common import open_runtime
from preserve.cli.output import Format, print_page


def stats(
    by: By = typer.Option(By.AGENCY, help="agency, fonds, year, retention, format, target, state"),
    fmt: str = typer.Option("table", "--format", help="table, json, csv or html."),
    agency: str | None = typer.Option(None, help="Only this agency."),
) -> None:
    """Records, files and bytes held, by one dimension (state counts SIPs, the rest AIPs)."""
    if fmt not in ("table", "json", "csv", "html"):
        raise typer.BadParameter("--format must be table, json, csv or html")
    with open_runtime() as rt, session_scope(rt.sessions) as session:
        rows = statistics(session, by, agency=agency)
    if fmt == "json":
        print(json.dumps(as_json(by, rows), ensure_ascii=False, indent=2))
    elif fmt == "html":
        print(as_html(by, rows), end="")
    elif fmt == "csv":
        print(as_csv(rows), end="")
    else:
        shown = [{**r.__dict__, by.value: r.key} for r in rows]
        print_page(shown, [by.value, "records", "files", "bytes"], None, Format.TABLE)
