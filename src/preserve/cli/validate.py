"""``preserve validate AIP_ID | --all``: re-run check 3-4 over stored AIPs, without changing
them; each run is a PREMIS ``validation`` event per tool against the AIP. Exits 1 when a file
fails."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum

import typer
from rich.table import Table

from preserve.access.sources import candidate_targets, load_record
from preserve.catalog.db import session_scope
from preserve.catalog.repository import get_aip, list_aips
from preserve.cli.common import console, fail, open_runtime
from preserve.ingest.checks import Result
from preserve.ingest.profile import load_profile
from preserve.ingest.validation import Validation
from preserve.ingest.validation.events import record_validation_events
from preserve.ingest.validation.stored import revalidate
from preserve.runtime import Runtime

COLUMNS = ("aip", "path", "puid", "family", "outcome", "where", "detail", "tool")


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def validate(
    aip_id: str | None = typer.Argument(None, help="The AIP to validate."),
    all_: bool = typer.Option(False, "--all", help="Every AIP in the catalogue."),
    target: str | None = typer.Option(None, help="Read from this target (default: nearest)."),
    format: ReportFormat = typer.Option(ReportFormat.TABLE, help="table, json or csv."),
) -> None:
    """Re-run the format validators (check 3-4) over stored AIPs and report; the AIPs are not
    changed."""
    if (aip_id is None) == (not all_):
        fail("name one AIP or give --all")
    rows: list[tuple[str, Validation]] = []
    with open_runtime() as rt:
        with rt.sessions.begin() as session:
            ids = [a.id for a in list_aips(session)] if all_ else [get_aip(session, aip_id).id]
        for one in ids:
            rows += [(one, v) for v in _validate_aip(rt, one, target)]
    _render(rows, format)
    if any(v.outcome == Result.FAIL for _, v in rows):
        sys.exit(1)


def _validate_aip(rt: Runtime, aip_id: str, target: str | None) -> list[Validation]:
    with rt.sessions.begin() as session:
        aip = get_aip(session, aip_id)
        files = [(f.path, f.puid) for f in aip.files]
        agency, agency_id = aip.agency.name, aip.agency_id
        record = load_record(session, aip_id)
    targets = [target] if target else candidate_targets(rt.stores, record)
    if not targets:
        fail(f"AIP {aip_id} has no verified copy to read")
    profile = load_profile(rt.settings.profiles_dir, agency)
    store = rt.store(record.profile, targets[0])
    found = revalidate(
        store,
        aip_id,
        files,
        profile.validation.limits,
        rt.settings.staging_dir,
        workers=rt.settings.identify_workers,
    )
    with session_scope(rt.sessions) as session:
        record_validation_events(session, "aip", aip_id, agency_id, found)
    return found


def _render(rows: list[tuple[str, Validation]], format: ReportFormat) -> None:
    dicts = [{"aip": aip, **v.to_dict()} for aip, v in rows]
    if format == ReportFormat.JSON:
        print(json.dumps(dicts, indent=2, ensure_ascii=False))
        return
    if format == ReportFormat.CSV:
        writer = csv.writer(sys.stdout)
        writer.writerow(COLUMNS)
        for d in dicts:
            writer.writerow([d[c] or "" for c in COLUMNS])
        return
    table = Table(title="check 3-4: format validation")
    for column in COLUMNS[:-1]:
        table.add_column(column)
    styles = {"pass": "green", "warn": "yellow", "fail": "bold red"}
    for d in dicts:
        cells = [str(d[c] or "") for c in COLUMNS[:-1]]
        cells[4] = f"[{styles[d['outcome']]}]{d['outcome']}"
        table.add_row(*cells)
    console.print(table)
    counts = {r: sum(d["outcome"] == r for d in dicts) for r in ("pass", "warn", "fail")}
    console.print(f"{len(dicts)} files: " + ", ".join(f"{n} {r}" for r, n in counts.items()))
