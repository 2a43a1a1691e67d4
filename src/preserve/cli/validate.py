"""``preserve validate AIP_ID | --all``: re-run check 3-4 over stored AIPs, without changing
them; each run is a PREMIS ``validation`` event per tool against the AIP. Exits 1 when a file
fails."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from preserve.access.sources import candidate_targets, load_record
from preserve.catalog.repository import get_aip, list_aips
from preserve.cli.common import fail, open_runtime
from preserve.cli.names import check_targets
from preserve.cli.output import Format, Result, emit, format_option, output_option
from preserve.ingest.checks import Result as Outcome
from preserve.ingest.profile import load_profile
from preserve.ingest.validation import Validation
from preserve.ingest.validation.events import record_validation_events
from preserve.ingest.validation.stored import revalidate
from preserve.runtime import Runtime

COLUMNS = ("aip", "path", "puid", "family", "outcome", "where", "detail", "tool")


def validate(
    aip_id: str | None = typer.Argument(None, help="The AIP to validate."),
    all_: bool = typer.Option(False, "--all", help="Every AIP in the catalogue."),
    target: str | None = typer.Option(None, help="Read from this target (default: nearest)."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Re-run the format validators (check 3-4) over stored AIPs and report; the AIPs are not
    changed."""
    if (aip_id is None) == (not all_):
        fail("name one AIP or give --all")
    rows: list[tuple[str, Validation]] = []
    with open_runtime() as rt:
        with rt.sessions.begin() as session:
            check_targets(rt, session, [target])
            ids = [a.id for a in list_aips(session)] if all_ else [get_aip(session, aip_id).id]
        for one in ids:
            rows += [(one, v) for v in _validate_aip(rt, one, target)]
    emit(_result(rows), fmt, output)
    if any(v.outcome == Outcome.FAIL for _, v in rows):
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
    with rt.sessions.begin() as session:
        record_validation_events(session, "aip", aip_id, agency_id, found)
    return found


_STYLES = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def _result(rows: list[tuple[str, Validation]]) -> Result:
    dicts = [{"aip": aip, **v.to_dict()} for aip, v in rows]
    counts = {r: sum(d["outcome"] == r for d in dicts) for r in ("pass", "warn", "fail")}
    summary = f"{len(dicts)} files: " + ", ".join(f"{n} {r}" for r, n in counts.items())
    return Result(
        "check 3-4: format validation",
        list(COLUMNS),
        dicts,
        lines=[summary],
        table_columns=list(COLUMNS[:-1]),
        styles={"outcome": lambda d: _STYLES.get(d["outcome"], "")},
    )
