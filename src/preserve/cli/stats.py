"""``preserve stats``: the numbers of ``GET /v1/statistics``, from the catalogue directly."""

from __future__ import annotations

from pathlib import Path

import typer

from preserve.access.statistics.queries import By, statistics
from preserve.access.statistics.render import as_csv, as_html, as_json
from preserve.cli.common import open_runtime
from preserve.cli.names import check_agency
from preserve.cli.output import Format, Result, emit, format_option, output_option


def stats(
    by: By = typer.Option(By.AGENCY, help="agency, fonds, year, retention, format, target, state"),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
    agency: str | None = typer.Option(None, help="Only this agency."),
) -> None:
    """Records, files and bytes held, by one dimension (state counts SIPs, the rest AIPs)."""
    with open_runtime() as rt, rt.sessions.begin() as session:
        check_agency(session, agency)
        rows = statistics(session, by, agency=agency)
        page = {"archive_name": rt.settings.archive_name, "zone_name": rt.settings.display_timezone}
    shown = [
        {by.value: r.key, "records": r.records, "files": r.files, "bytes": r.bytes} for r in rows
    ]
    result = Result(
        f"holdings by {by.value}",
        [by.value, "records", "files", "bytes"],
        shown,
        data=as_json(by, rows),
        render_csv=lambda: as_csv(rows),
        render_html=lambda: as_html(by, rows, **page),
    )
    emit(result, fmt, output)
