"""``preserve audit ...`` and ``preserve report ...``."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from enum import StrEnum

import typer
from rich.table import Table

from preserve.audit.report import fixity_report
from preserve.audit.service import AuditOutcome, audit_all, bytes_to_audit
from preserve.catalog.db import session_scope
from preserve.catalog.types import utcnow
from preserve.cli.common import console, fail, open_runtime
from preserve.cli.progress import byte_progress

audit_app = typer.Typer(help="Fixity audits.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for preservation officers.", no_args_is_help=True)


@audit_app.command("run")
def audit_run(
    target: str | None = typer.Option(None, help="Only replicas on this target."),
    aip: list[str] | None = typer.Option(None, help="Only this AIP (repeatable)."),
) -> None:
    """Re-hash every file of every replica and check every signature; exit 1 on any failure."""
    with open_runtime() as rt:
        total = bytes_to_audit(rt, aip, target)
        with byte_progress("auditing", total) as advance:
            results = audit_all(rt, aip, target, advance)
    table = Table(title="fixity audit")
    for column in ("aip", "target", "files", "bytes", "outcome"):
        table.add_column(column)
    for r in results:
        style = "green" if r.outcome == AuditOutcome.OK else "bold red"
        table.add_row(
            r.aip_id, r.target, str(r.files_checked), str(r.bytes_read), f"[{style}]{r.outcome}"
        )
    console.print(table)
    failures = [(r, p) for r in results for p in r.problems]
    for r, p in failures:
        console.print(
            f"[bold red]FAIL[/] {r.target} {r.aip_id} {p.path}: {p.outcome} ({p.detail})",
            highlight=False,
        )
    ok = sum(r.outcome == AuditOutcome.OK for r in results)
    console.print(f"{len(results)} replicas audited, {ok} ok, {len(results) - ok} failed")
    if failures:
        sys.exit(1)


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@report_app.command("fixity")
def report_fixity(
    since: datetime | None = typer.Option(None, "--from", help="Start of the period."),
    until: datetime | None = typer.Option(None, "--to", help="End of the period."),
    format: ReportFormat = typer.Option(ReportFormat.TABLE, help="table, json or csv."),
) -> None:
    """Replicas per target, checks in the period, and every failure."""
    with open_runtime() as rt, session_scope(rt.sessions) as session:
        report = fixity_report(session, _aware(since), _aware(until), utcnow())
    if format == ReportFormat.JSON:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    elif format == ReportFormat.CSV:
        writer = csv.writer(sys.stdout)
        fields = list(report.to_dict()["targets"][0].keys()) if report.targets else ["target"]
        writer.writerow(fields)
        for t in report.to_dict()["targets"]:
            writer.writerow([t[f] for f in fields])
    else:
        table = Table(title=f"fixity report ({report.aips} AIPs)")
        fields = ["target", "replicas", "verified", "bytes", "audited_in_period", "ok", "failed"]
        for f in fields:
            table.add_column(f)
        for t in report.targets:
            table.add_row(*(str(getattr(t, f)) for f in fields))
        console.print(table)
        for f in report.failures:
            console.print(f"[red]failure[/] {f.time} {f.target} {f.aip_id}: {f.detail}")
    if report.failures and format == ReportFormat.TABLE and not report.targets:
        fail("report has failures but no targets")


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    from datetime import UTC

    return value.replace(tzinfo=UTC)
