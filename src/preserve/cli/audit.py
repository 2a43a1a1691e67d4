"""``preserve audit ...`` and ``preserve report ...``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import typer
from cryptography.hazmat.primitives import serialization
from rich.table import Table

from preserve.audit.render_html import render_html
from preserve.audit.report import FixityReport, fixity_report, to_csv
from preserve.audit.service import AuditOutcome, AuditRun, Selection
from preserve.audit.signed import sign_report, verify_report
from preserve.audit.status import audit_status
from preserve.audit.targets import target_policies
from preserve.catalog.db import session_scope
from preserve.catalog.types import utcnow
from preserve.cli.common import console, fail, open_runtime
from preserve.cli.progress import byte_progress
from preserve.errors import IntegrityError
from preserve.jobs.tasks.audit import bytes_of, choose, run_audits
from preserve.settings import Settings
from preserve.trust.keys import key_id_of, load_public_keys

audit_app = typer.Typer(help="Fixity audits.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for preservation officers.", no_args_is_help=True)


@audit_app.command("run")
def audit_run(
    due: bool = typer.Option(False, "--due", help="Only replicas whose audit is due now."),
    all_: bool = typer.Option(False, "--all", help="Every replica (the default)."),
    target: str | None = typer.Option(None, help="Only replicas on this target."),
    aip: list[str] | None = typer.Option(None, help="Only this AIP (repeatable)."),
    repair: bool = typer.Option(
        False, "--repair/--no-repair", help="Repair failed replicas from a verified one."
    ),
) -> None:
    """Re-hash every file of the chosen replicas and check every signature.

    Exits 1 when a replica failed and was not repaired."""
    if due and all_:
        fail("choose --due or --all, not both")
    selection = Selection(aip or None, target, due_only=due)
    with open_runtime() as rt:
        pairs = choose(rt, selection)
        with byte_progress("auditing", bytes_of(rt, pairs)) as advance:
            run = run_audits(rt, selection, advance, repair=repair, pairs=pairs)
    _print_run(run)
    if run.unrepaired:
        sys.exit(1)


def _print_run(run: AuditRun) -> None:
    table = Table(title="fixity audit")
    for column in ("aip", "target", "files", "bytes", "outcome", "repair"):
        table.add_column(column)
    for r in run.audits:
        style = "green" if r.outcome == AuditOutcome.OK else "bold red"
        repair = run.repairs.get((r.aip_id, r.target))
        note = "" if repair is None else ("repaired" if repair.repaired else "NOT repaired")
        table.add_row(
            r.aip_id,
            r.target,
            str(r.files_checked),
            str(r.bytes_read),
            f"[{style}]{r.outcome}",
            note,
        )
    console.print(table)
    for r in run.failed:
        for p in r.problems:
            console.print(
                f"[bold red]FAIL[/] {r.target} {r.aip_id} {p.path}: {p.outcome} ({p.detail})",
                highlight=False,
            )
        repair = run.repairs.get((r.aip_id, r.target))
        if repair is not None:
            console.print(f"  repair: {repair.detail}", highlight=False, markup=False)
    for aip_id, target in run.restores_requested:
        console.print(f"restore requested: {target} {aip_id} (cold; audit once readable)")
    audits = run.audits
    ok = sum(r.outcome == AuditOutcome.OK for r in audits)
    repaired = sum(1 for r in run.repairs.values() if r.repaired)
    console.print(
        f"{len(audits)} replicas audited, {ok} ok, {len(audits) - ok} failed"
        + (f", {repaired} repaired" if run.repairs else "")
    )


class StatusFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@audit_app.command("status")
def audit_status_command(
    target: str | None = typer.Option(None, help="Only this target."),
    format: StatusFormat = typer.Option(StatusFormat.TABLE, help="table or json."),
) -> None:
    """Coverage, due and overdue replicas, and open failures, per target."""
    with open_runtime() as rt, session_scope(rt.sessions) as session:
        grace = timedelta(hours=rt.settings.audit_overdue_grace_hours)
        policies = target_policies(session, rt.stores, rt.settings)
        status = audit_status(session, policies, utcnow(), grace, target)
    if format == StatusFormat.JSON:
        print(json.dumps(status.to_dict(), indent=2, ensure_ascii=False))
        return
    table = Table(title=f"fixity audit status at {status.time}")
    columns = ["target", "mode", "interval_days", "replicas", "coverage", "due_now", "overdue"]
    for column in [*columns, "never_audited", "open_failures"]:
        table.add_column(column)
    for t in status.targets:
        cells = [str(getattr(t, c)) for c in columns]
        cells[4] = f"{t.coverage:.1%}"
        late = f"[bold red]{t.overdue}" if t.overdue else "0"
        failing = f"[bold red]{t.open_failures}" if t.open_failures else "0"
        table.add_row(*cells[:6], late, str(t.never_audited), failing)
    console.print(table)
    for f in status.open_failures:
        console.print(
            f"[red]{f.resolution}[/] {f.time} {f.target} {f.aip_id}: {f.outcome} ({f.detail})",
            highlight=False,
        )


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


@report_app.command("fixity")
def report_fixity(
    since: datetime | None = typer.Option(None, "--from", help="Start (default: 30 days ago)."),
    until: datetime | None = typer.Option(None, "--to", help="End of the period (default: now)."),
    target: str | None = typer.Option(None, help="Only this target."),
    format: ReportFormat = typer.Option(ReportFormat.TABLE, help="table, json, csv or html."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Holdings, coverage, outcomes, repairs and overdue replicas per target, and every failure
    with its resolution. The JSON form is signed with the archive key."""
    now = utcnow()
    until = _aware(until) or now
    since = _aware(since) or until - timedelta(days=30)
    if since >= until:
        fail("--from must be before --to")
    with open_runtime() as rt, session_scope(rt.sessions) as session:
        grace = timedelta(hours=rt.settings.audit_overdue_grace_hours)
        policies = target_policies(session, rt.stores, rt.settings)
        report = fixity_report(
            session, since, until, now, target=target, policies=policies, grace=grace
        )
        key = rt.signing_key
    if format == ReportFormat.TABLE:
        _print_report(report)
        return
    if format == ReportFormat.JSON:
        text = json.dumps(sign_report(key, report.to_dict()), indent=2, ensure_ascii=False) + "\n"
    elif format == ReportFormat.CSV:
        text = to_csv(report)
    else:
        text = render_html(report, key.key_id)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", highlight=False)


def _print_report(report: FixityReport) -> None:
    table = Table(title=f"fixity report {report.period_from} – {report.period_to}")
    columns = ["target", "mode", "objects", "bytes", "audited_in_period", "checks", "failed"]
    for column in [*columns, "repairs", "coverage", "overdue"]:
        table.add_column(column)
    for t in report.targets:
        cells = [str(getattr(t, c)) for c in columns]
        coverage = f"{t.coverage:.1%}"
        if t.sample_coverage is not None:
            coverage += f" (sample {t.sample_coverage:.1%})"
        table.add_row(*cells, str(t.repairs), coverage, str(t.overdue))
    console.print(table)
    for f in report.failures:
        resolution = f.resolution + (f" from {f.repair_source}" if f.repair_source else "")
        console.print(
            f"[red]failure[/] {f.time} {f.target} {f.aip_id}: {f.outcome} → {resolution}",
            highlight=False,
        )


@report_app.command("verify")
def report_verify(
    file: Path = typer.Argument(..., help="A signed JSON report."),
    public_key: Path | None = typer.Option(
        None, help="The archive's public key (PEM), when this machine does not hold its keys."
    ),
) -> None:
    """Check that a signed JSON report is unedited and was signed by the archive's key."""
    try:
        envelope = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}")
    trusted = load_public_keys(Settings().keys_dir)
    if public_key is not None:
        pub = serialization.load_pem_public_key(public_key.read_bytes())
        trusted = {key_id_of(pub): pub}  # type: ignore[arg-type]
    try:
        signature = verify_report(envelope, trusted or None)
    except IntegrityError as exc:
        fail(f"report signature does NOT verify: {exc}")
    if trusted:
        console.print(f"ok: signed by archive key {signature.key_id}; not edited", highlight=False)
    else:
        console.print(
            f"ok: the signature is valid for key {signature.key_id} (the key embedded in the "
            "report); compare that id with the archive's published keys (GET /v1/keys)",
            highlight=False,
        )


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
