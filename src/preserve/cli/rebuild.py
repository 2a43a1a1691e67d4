"""``preserve storage rebuild TARGET``: bring a lost or new site back to what it should hold."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from preserve.access.rebuild_site import Need, RebuildReport, SitePlan, rebuild, survey
from preserve.cli.common import console, err_console, open_runtime
from preserve.cli.progress import byte_progress


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
            plan = survey(rt, target, deep=deep, tick=tick)
        if dry_run:
            _print_plan(plan, json_out)
            return
        with byte_progress(f"rebuilding {target}", plan.bytes_to_copy) as advance:
            report = rebuild(rt, plan, source=source, progress=advance)
    _print_report(report, json_out)
    if report.failed:
        sys.exit(1)


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
