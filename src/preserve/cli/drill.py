"""``preserve drill``: restore a sample from each off-site target and report recovery times."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from preserve.access.drill import (
    DrillReport,
    DrillSample,
    execute_drill,
    plan_drill,
    record_drill,
)
from preserve.access.drill_report import keep_report, to_csv, to_html
from preserve.cli.common import err_console, open_runtime
from preserve.cli.names import check_targets
from preserve.cli.output import Format, Result, emit, format_option, output_option
from preserve.printable import human_bytes, human_duration
from preserve.runtime import Runtime


def drill(
    target: list[str] | None = typer.Option(
        None, help="Drill this target (repeatable; default: every off-site target)."
    ),
    sample: int = typer.Option(3, min=1, help="AIPs restored per target."),
    seed: int | None = typer.Option(None, help="Seed of the random sample, to repeat a drill."),
    profile: str | None = typer.Option(None, help="Storage profile (default: the configured)."),
    scratch: Path | None = typer.Option(
        None, help="Scratch directory for the restores (default: <data dir>/drill)."
    ),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Restore a random sample of AIPs from each off-site target into a scratch area, verify and
    time them, delete them, and print the recovery-time report. Exits 1 if any restore failed."""
    with open_runtime() as rt:
        with rt.sessions.begin() as session:
            check_targets(rt, session, target or [])
        root = scratch or rt.settings.resolved_data_dir / "drill"
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as bars:
            task = bars.add_task("drilling", total=None)
            report = run_drill(
                rt,
                root,
                profile_ref=profile,
                targets=target,
                sample=sample,
                seed=seed,
                on_sample=lambda s: bars.advance(task, 1),
            )
        page = {"archive_name": rt.settings.archive_name, "zone_name": rt.settings.display_timezone}
    emit(_result(report, page), fmt, output)
    if report.failed:
        sys.exit(1)


def run_drill(
    rt: Runtime,
    scratch: Path,
    *,
    profile_ref: str | None = None,
    targets: list[str] | None = None,
    sample: int = 3,
    seed: int | None = None,
    on_sample: Callable[[DrillSample], None] | None = None,
) -> DrillReport:
    """Sample in one transaction, restore with none open, record the restores in another."""
    with rt.sessions.begin() as session:
        plan = plan_drill(
            session, rt.stores, profile_ref=profile_ref, targets=targets, sample=sample, seed=seed
        )
    runs = execute_drill(plan, rt.stores, rt.trusted_keys(), scratch, on_sample)
    with rt.sessions.begin() as session:
        record_drill(session, runs)
    keep_report(rt.settings.resolved_data_dir, plan.report)  # for the officer's console
    return plan.report


def _result(report: DrillReport, page: dict[str, str]) -> Result:
    rows = [
        {
            "target": t.target,
            "site": t.site,
            "media": t.media,
            "held": f"{t.aips_held} AIPs, {human_bytes(t.bytes_held)}",
            "sampled": len(t.samples),
            "failed": t.failed,
            "MB/s": "n/a" if t.throughput_mb_s is None else f"{t.throughput_mb_s:.1f}",
            "full restore": human_duration(t.estimated_full_restore_seconds),
        }
        for t in report.targets
    ]
    lines = [
        f"FAIL {t.target} {s.aip_id}: {s.detail}"
        for t in report.targets
        for s in t.samples
        if not s.ok
    ]
    verdict = "passed" if not report.failed else f"FAILED: {report.failed} restores failed"
    return Result(
        f"recovery drill, profile {report.profile} (seed {report.seed})",
        list(rows[0]) if rows else ["target"],
        rows,
        data=report.to_dict(),
        lines=[*lines, f"drill {verdict}"],
        render_csv=lambda: to_csv(report),
        render_html=lambda: to_html(report, **page),
        styles={"failed": lambda r: "bold red" if r["failed"] else ""},
    )
