"""``preserve verify ...``: the auditor's (安全审计员) check of the event log."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum

import typer
from rich.table import Table

from preserve.cli.common import console, open_runtime
from preserve.jobs.tasks.trust import run_checkpoint
from preserve.jobs.tasks.trust import verify_log as verify_event_log
from preserve.trust.duties import Duty, cli_agent
from preserve.trust.logverify import LogReport

verify_app = typer.Typer(help="Verify the tamper-evident event log.", no_args_is_help=True)


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@verify_app.command("log")
def verify_log(
    format: ReportFormat = typer.Option(ReportFormat.TABLE, help="table, json or csv."),
) -> None:
    """Replay the hash chain, check it against the signed checkpoints in every store, and
    name the first entry that was edited, deleted, inserted or reordered; exit 1 if any."""
    with open_runtime() as rt:
        report = verify_event_log(rt, agent=cli_agent(Duty.AUDITOR))
    if format == ReportFormat.JSON:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    elif format == ReportFormat.CSV:
        writer = csv.writer(sys.stdout)
        writer.writerow(["severity", "kind", "seq", "event_id", "source", "detail"])
        for f in report.findings:
            d = f.to_dict()
            writer.writerow(
                [d[k] for k in ("severity", "kind", "seq", "event_id", "source", "detail")]
            )
    else:
        _print_table(report)
    if not report.ok:
        sys.exit(1)


@verify_app.command("checkpoint")
def verify_checkpoint() -> None:
    """Sign a checkpoint of the log now and write every pending one to every store."""
    with open_runtime() as rt:
        run = run_checkpoint(rt)
    made = f"checkpoint #{run.made[0]} signed" if run.made else "no new entries to checkpoint"
    console.print(f"{made}; written to {len(run.written)} stores", highlight=False)


def _print_table(report: LogReport) -> None:
    if report.findings:
        table = Table(title="event log findings")
        for column in ("severity", "kind", "entry", "event id", "where", "detail"):
            table.add_column(column)
        for f in report.findings:
            d = f.to_dict()
            table.add_row(
                d["severity"], d["kind"], str(f.seq or ""), f.event_id or "", f.source, f.detail
            )
        console.print(table)
    console.print(
        f"{report.entries} entries, head #{report.head_seq} {report.head_hash[:16]}…, "
        f"{report.checkpoints_verified} checkpoints verified up to #{report.checkpointed_to} "
        f"in {len(report.stores)} stores",
        highlight=False,
    )
    if report.ok:
        console.print("[green]the event log is intact[/]")
    else:
        first = report.first
        where = f"#{first.seq}" if first.seq is not None else f"event {first.event_id}"
        console.print(
            f"[bold red]FIRST BAD ENTRY[/] {where}: {first.kind.value} — {first.detail}",
            highlight=False,
        )
