"""``preserve storage rebuild TARGET``: bring a lost or new site back to what it should hold."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from preserve.access import rebuild_site as site
from preserve.access.rebuild_site import Need, RebuildReport, SitePlan
from preserve.access.sources import load_record
from preserve.catalog.db import after_commit
from preserve.cli.common import console, err_console, open_runtime
from preserve.cli.progress import byte_progress
from preserve.ingest.staging import discard
from preserve.runtime import Runtime


def storage_rebuild(
    target: str = typer.Argument(..., help="The target to rebuild."),
    source: str | None = typer.Option(
        None, "--from", help="Copy from this target only (default: nearest healthy replica)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be copied."),
    deep: bool = typer.Option(
        False, help="Re-read every object already on the target instead of trusting sizes."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the plan or report as JSON."),
) -> None:
    """Copy every AIP that belongs on TARGET from verified replicas, each verified by read-back.

    Safe to run again: AIPs already whole and verified are skipped, a half-copied one is
    completed. Exits 1 if any AIP could not be copied.
    """
    with open_runtime() as rt:
        with count_progress(f"surveying {target}") as tick:
            plan = run_survey(rt, target, deep=deep, tick=tick)
        if dry_run:
            _print_plan(plan, json_out)
            return
        with byte_progress(f"rebuilding {target}", plan.bytes_to_copy) as advance:
            report = run_rebuild(rt, plan, source=source, progress=advance)
    _print_report(report, json_out)
    if report.failed:
        sys.exit(1)


def run_survey(
    rt: Runtime, target: str, *, deep: bool = False, tick: Callable[[], None] | None = None
) -> SitePlan:
    """What the target holds and lacks: each AIP's record read in a short transaction, its
    copy on the target inspected with none open."""
    with rt.sessions.begin() as session:
        aips = site.aips_on_target(session, rt.stores, target)
    plan = SitePlan(target)
    trusted = rt.trusted_keys()
    for aip_id, _, _ in aips:
        with rt.sessions.begin() as session:
            record = load_record(session, aip_id)
        plan.items.append(site.survey_one(rt.stores, trusted, record, target, deep=deep))
        if tick is not None:
            tick()
    return plan


def run_rebuild(
    rt: Runtime,
    plan: SitePlan,
    *,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RebuildReport:
    """Copy every AIP the plan lacks; each verified by read-back and marked at once (its own
    transaction), so an interrupted rebuild keeps what it finished."""
    report = site.start_rebuild(plan, source)
    started = time.monotonic()
    trusted = rt.trusted_keys()
    for item in plan.to_copy:
        with rt.sessions.begin() as session:
            record = site.prepare_copy(session, item, plan.target)
        outcome = site.copy_one(rt.stores, trusted, record, item, plan.target, source, progress)
        with rt.sessions.begin() as session:
            sip_id = site.record_copy(session, rt.stores, outcome, plan.target)
            if sip_id is not None:
                after_commit(session, partial(discard, rt.settings.staging_dir, sip_id))
        if not site.add_outcome(report, item, outcome):
            break
    report.seconds = round(time.monotonic() - started, 3)
    return report


@contextmanager
def count_progress(description: str) -> Iterator[Callable[[], None]]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as bars:
        task = bars.add_task(description, total=None)
        yield lambda: bars.advance(task, 1)


def _print_plan(plan: SitePlan, json_out: bool) -> None:
    if json_out:
        items = [
            {"aip_id": i.aip_id, "need": i.need.value, "bytes": i.bytes, "detail": i.detail}
            for i in plan.items
        ]
        doc = {"target": plan.target, "to_copy": len(plan.to_copy), "items": items}
        print(json.dumps({**doc, "bytes_to_copy": plan.bytes_to_copy}, indent=2))
        return
    counts = Counter(i.need for i in plan.items)
    table = Table(title=f"{plan.target}: what a rebuild would copy")
    for column in ("aip", "need", "bytes", "detail"):
        table.add_column(column)
    for item in plan.to_copy:
        table.add_row(item.aip_id, item.need.value, str(item.bytes), item.detail)
    console.print(table)
    summary = ", ".join(f"{counts[n]} {n.value}" for n in Need if counts[n])
    console.print(
        f"{len(plan.items)} AIPs belong on {plan.target}: {summary or 'none'}; "
        f"would copy {len(plan.to_copy)} ({plan.bytes_to_copy} payload bytes)",
        highlight=False,
    )


def _print_report(report: RebuildReport, json_out: bool) -> None:
    if json_out:
        print(json.dumps(report.to_dict(), indent=2))
        return
    for failure in report.failed:
        console.print(f"[bold red]FAIL[/] {failure.aip_id}: {failure.detail}", highlight=False)
    if report.stopped_early:
        console.print(f"[bold red]stopped early[/]: {report.stopped_early}", highlight=False)
    console.print(
        f"{report.target}: {report.surveyed} AIPs belong here, {report.already_present} already "
        f"present, {len(report.copied)} copied ({report.bytes_copied} payload bytes), "
        f"{len(report.failed)} failed, in {report.seconds:.1f}s",
        highlight=False,
    )
