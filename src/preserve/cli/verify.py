"""``preserve verify ...``: the auditor's (安全审计员) check of the event log."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from preserve.cli.common import console, open_runtime
from preserve.cli.output import Format, Result, emit, format_option, output_option
from preserve.jobs.tasks.trust import run_checkpoint
from preserve.jobs.tasks.trust import verify_log as verify_event_log
from preserve.trust.duties import Duty, cli_agent
from preserve.trust.logverify import LogReport

verify_app = typer.Typer(help="Verify the tamper-evident event log.", no_args_is_help=True)


@verify_app.command("log")
def verify_log(fmt: Format = format_option(), output: Path | None = output_option()) -> None:
    """Replay the hash chain, check it against the signed checkpoints in every store, and
    name the first entry that was edited, deleted, inserted or reordered; exit 1 if any."""
    with open_runtime() as rt:
        report = verify_event_log(rt, agent=cli_agent(Duty.AUDITOR))
    emit(_result(report), fmt, output)
    if not report.ok:
        sys.exit(1)


@verify_app.command("checkpoint")
def verify_checkpoint() -> None:
    """Sign a checkpoint of the log now and write every pending one to every store."""
    with open_runtime() as rt:
        run = run_checkpoint(rt)
    made = f"checkpoint #{run.made[0]} signed" if run.made else "no new entries to checkpoint"
    console.print(f"{made}; written to {len(run.written)} stores", highlight=False)


COLUMNS = ["severity", "kind", "seq", "event_id", "source", "detail"]


def _result(report: LogReport) -> Result:
    lines = [
        f"{report.entries} entries, head #{report.head_seq} {report.head_hash[:16]}…, "
        f"{report.checkpoints_verified} checkpoints verified up to #{report.checkpointed_to} "
        f"in {len(report.stores)} stores"
    ]
    if report.ok:
        lines.append("the event log is intact")
    else:
        first = report.first
        where = f"#{first.seq}" if first.seq is not None else f"event {first.event_id}"
        lines.append(f"FIRST BAD ENTRY {where}: {first.kind.value} — {first.detail}")
    rows = [f.to_dict() for f in report.findings]
    styles = {"severity": lambda r: "bold red"}
    title = "event log findings"
    return Result(title, COLUMNS, rows, data=report.to_dict(), lines=lines, styles=styles)
