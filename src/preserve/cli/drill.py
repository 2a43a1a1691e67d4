"""``preserve drill``: restore a sample from each off-site target and report recovery times."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from preserve.access.drill import (
    DrillReport,
    DrillSample,
    execute_drill,
    plan_drill,
    record_drill,
)
from preserve.access.drill_report import duration, to_csv, to_html
from preserve.cli.common import console, err_console, open_runtime
from preserve.runtime import Runtime


class DrillFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


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
    format: DrillFormat = typer.Option(DrillFormat.TABLE, help="table, json, csv or html."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the report here."),
) -> None:
    """Restore a random sample of AIPs from each off-site target into a scratch area, verify and
    time them, delete them, and print the recovery-time report. Exits 1 if any restore failed."""
    with open_runtime() as rt:
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
    _emit(report, format, output)
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
    return plan.report


def _emit(report: DrillReport, fmt: DrillFormat, output: Path | None) -> None:
    if fmt == DrillFormat.TABLE:
        _table(report)
        text = None
    elif fmt == DrillFormat.JSON:
        text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    elif fmt == DrillFormat.CSV:
        text = to_csv(report)
    else:
        text = to_html(report)
    if text is None:
        return
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"drill report written to {output}", highlight=False)


def _table(report: DrillReport) -> None:
    table = Table(title=f"recovery drill, profile {report.profile} (seed {report.seed})")
    for column in ("target", "site", "media", "held", "sampled", "failed", "MB/s", "full restore"):
        table.add_column(column)
    for t in report.targets:
        table.add_row(
            t.target,
            t.site,
            t.media,
            f"{t.aips_held} AIPs, {t.bytes_held} B",
            str(len(t.samples)),
            f"[bold red]{t.failed}[/]" if t.failed else "0",
            "n/a" if t.throughput_mb_s is None else f"{t.throughput_mb_s:.1f}",
            duration(t.estimated_full_restore_seconds),
        )
    console.print(table)
    for t in report.targets:
        for s in t.samples:
            if not s.ok:
                console.print(f"[bold red]FAIL[/] {t.target} {s.aip_id}: {s.detail}")
    verdict = "passed" if not report.failed else f"FAILED: {report.failed} restores failed"
    console.print(f"drill {verdict}", highlight=False)
