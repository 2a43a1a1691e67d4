"""``preserve storage rebuild TARGET``: bring a lost or new site back to what it should hold."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from preserve.access import rebuild_site as site
from preserve.access.rebuild_site import Need, RebuildReport, SitePlan
from preserve.access.sources import load_record
from preserve.catalog.db import after_commit
from preserve.cli.common import err_console, open_runtime
from preserve.cli.names import check_targets
from preserve.cli.output import Format, Result, emit, format_option, output_option
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
    fmt: Format = format_option(),
    output: Path | None = output_option(),
    json_out: bool = typer.Option(False, "--json", hidden=True, help="Old: --format json."),
) -> None:
    """Copy every AIP that belongs on TARGET from verified replicas, each verified by read-back.

    Safe to run again: AIPs already whole and verified are skipped, a half-copied one is
    completed. Exits 1 if any AIP could not be copied.
    """
    fmt = Format.JSON if json_out else fmt
    with open_runtime() as rt:
        with rt.sessions.begin() as session:
            check_targets(rt, session, [target, source])
        with count_progress(f"surveying {target}") as tick:
            plan = run_survey(rt, target, deep=deep, tick=tick)
        if dry_run:
            emit(_plan_result(plan), fmt, output)
            return
        with byte_progress(f"rebuilding {target}", plan.bytes_to_copy) as advance:
            report = run_rebuild(rt, plan, source=source, progress=advance)
    emit(_report_result(report), fmt, output)
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


def _plan_result(plan: SitePlan) -> Result:
    items = [
        {"aip_id": i.aip_id, "need": i.need.value, "bytes": i.bytes, "detail": i.detail}
        for i in plan.items
    ]
    doc = {"target": plan.target, "to_copy": len(plan.to_copy), "items": items}
    counts = Counter(i.need for i in plan.items)
    summary = ", ".join(f"{counts[n]} {n.value}" for n in Need if counts[n])
    line = (
        f"{len(plan.items)} AIPs belong on {plan.target}: {summary or 'none'}; "
        f"would copy {len(plan.to_copy)} ({plan.bytes_to_copy} payload bytes)"
    )
    to_copy = {i.aip_id for i in plan.to_copy}
    return Result(
        f"{plan.target}: what a rebuild would copy",
        ["aip_id", "need", "bytes", "detail"],
        [i for i in items if i["aip_id"] in to_copy],
        data={**doc, "bytes_to_copy": plan.bytes_to_copy},
        lines=[line],
    )


def _report_result(report: RebuildReport) -> Result:
    lines = [f"FAIL {f.aip_id}: {f.detail}" for f in report.failed]
    if report.stopped_early:
        lines.append(f"stopped early: {report.stopped_early}")
    lines.append(
        f"{report.target}: {report.surveyed} AIPs belong here, {report.already_present} already "
        f"present, {len(report.copied)} copied ({report.bytes_copied} payload bytes), "
        f"{len(report.failed)} failed, in {report.seconds:.1f}s"
    )
    rows = [{"aip_id": f.aip_id, "detail": f.detail} for f in report.failed]
    return Result(
        f"rebuild of {report.target}",
        ["aip_id", "detail"],
        rows,
        data=report.to_dict(),
        lines=lines,
        show_table=False,
    )
