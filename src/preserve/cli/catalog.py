"""``preserve catalog rebuild``: an empty database filled again from one store's AIPs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from preserve.access import rebuild_catalog as rebuild
from preserve.access.rebuild_catalog import LOST, CatalogRebuildReport, RebuildOptions
from preserve.cli.common import err_console, open_runtime
from preserve.cli.output import Format, Result, emit, format_option, hidden_alias, output_option
from preserve.disposal.tombstones import restore_from as restore_tombstones
from preserve.errors import PreserveError
from preserve.runtime import Runtime

catalog_app = typer.Typer(help="The catalogue database and the stores.", no_args_is_help=True)


@catalog_app.command("rebuild")
def catalog_rebuild(
    source: str = typer.Option(..., "--from", help="The target whose AIPs are read."),
    profile: str | None = typer.Option(
        None, help="The storage profile that names the target (default: the configured one)."
    ),
    resume: bool = typer.Option(
        False, help="Continue an interrupted rebuild: keep what is catalogued, add the rest."
    ),
    probe: bool = typer.Option(
        True, help="Look for each AIP's copies on the profile's other targets."
    ),
    deep: bool = typer.Option(False, help="Re-hash every payload byte, not only sizes."),
    trust_embedded_keys: bool = typer.Option(
        False,
        help="Verify signatures with the key inside each signature document (only when the "
        "archive's key directory was lost too; the key ids are in the report).",
    ),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
    report_path: Path | None = hidden_alias("--report", "Old spelling: write the JSON report."),
    json_out: bool = typer.Option(False, "--json", hidden=True, help="Old: --format json."),
) -> None:
    """Fill an empty catalogue from the self-describing AIPs of one store, verifying each.

    What no bag carries (tokens, later events, replica history, ...) is listed as lost.
    Exits 1 if any AIP could not be verified (it is listed and left out).
    """
    options = RebuildOptions(resume, probe, deep, trust_embedded_keys)
    with (
        open_runtime(create=True) as rt,  # rebuilding a lost catalogue makes a new one
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
        ) as bars,
    ):
        task = bars.add_task(f"rebuilding the catalogue from {source}", total=None)
        report = run_catalog_rebuild(
            rt,
            source,
            profile,
            options,
            tick=lambda n: bars.advance(task, n),
            on_total=lambda n: bars.update(task, total=n),
        )
    result = _result(report)
    if report_path is not None:  # the old --report: the JSON beside what is printed
        report_path.write_text(result.json_text(), encoding="utf-8")
    emit(result, Format.JSON if json_out else fmt, output)
    if report.unverifiable:
        sys.exit(1)


def run_catalog_rebuild(
    rt: Runtime,
    source: str,
    profile_ref: str | None = None,
    options: RebuildOptions = RebuildOptions(),
    tick: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> CatalogRebuildReport:
    """Each bag read and verified with no transaction open, then catalogued in its own."""
    profile_ref = profile_ref or rt.settings.storage_profile
    store = rt.store(profile_ref, source)
    report = CatalogRebuildReport(source, profile_ref, lost=dict(LOST))
    started = time.monotonic()
    with rt.sessions.begin() as session:
        known = rebuild.known_aips(session, options)
    ids = rebuild.aip_ids_in_store(store)
    report.aips_in_store = len(ids)
    if on_total is not None:
        on_total(len(ids))
    trusted = None if options.trust_embedded_keys else rt.trusted_keys()
    for aip_id in ids:
        if aip_id in known:
            report.already_catalogued += 1
        else:
            _catalogue_one(rt, store, aip_id, trusted, options, report)
        if tick is not None:
            tick(1)
    with rt.sessions.begin() as session:  # destroyed records, so they are not taken for lost
        report.destroyed, bad = restore_tombstones(session, store, trusted)
    report.unverifiable += [{"aip_id": "-", "reason": reason} for reason in bad]
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _catalogue_one(rt: Runtime, store, aip_id, trusted, options, report) -> None:
    try:
        found = rebuild.read_one(rt.stores, store, aip_id, trusted, options)
    except PreserveError as exc:
        rebuild.count_unverifiable(report, aip_id, exc)
        return
    with rt.sessions.begin() as session:
        rebuild.catalogue_bag(session, rt.stores, found, store.name, options)
    rebuild.count_catalogued(report, found)


def _result(report: CatalogRebuildReport) -> Result:
    counts = [
        ("AIPs in the store", report.aips_in_store),
        ("AIPs catalogued", report.aips_catalogued),
        ("already catalogued (resume)", report.already_catalogued),
        ("agencies", report.agencies),
        ("files", report.files),
        ("events restored from bags", report.events),
        ("replications queued", report.replication_queued),
        *((f"whole copies on {t}", n) for t, n in sorted(report.replicas.items())),
        ("destroyed records (tombstones)", report.destroyed),
        ("unverifiable (left out)", len(report.unverifiable)),
    ]
    lines = [f"UNVERIFIABLE {i['aip_id']}: {i['reason']}" for i in report.unverifiable]
    lines.append("lost (no bag carries it):")
    lines += [f"  - {what}: {why}" for what, why in report.lost.items()]
    lines += [f"approximated {what}: {why}" for what, why in report.approximated.items()]
    return Result(
        f"catalogue rebuilt from {report.source}",
        ["what", "count"],
        [{"what": what, "count": n} for what, n in counts],
        data=report.to_dict(),
        lines=lines,
    )
