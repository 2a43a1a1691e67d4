"""``preserve audit ...`` and ``preserve report ...``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from cryptography.hazmat.primitives import serialization

from preserve.audit.render_html import render_html
from preserve.audit.report import fixity_report
from preserve.audit.service import Selection
from preserve.audit.signed import sign_report, verify_report
from preserve.audit.status import audit_status
from preserve.audit.targets import target_policies
from preserve.catalog.types import utcnow
from preserve.cli.audit_render import report_result, run_result, status_result
from preserve.cli.common import console, fail, open_runtime
from preserve.cli.names import check_aips, check_targets
from preserve.cli.output import Format, emit, format_option, output_option
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
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Re-hash every file of the chosen replicas and check every signature.

    Exits 1 when a replica failed and was not repaired."""
    if due and all_:
        fail("choose --due or --all, not both")
    selection = Selection(aip or None, target, due_only=due)
    with open_runtime() as rt:
        with rt.sessions.begin() as session:
            check_targets(rt, session, [target])
            check_aips(session, aip)
        pairs = choose(rt, selection)
        with byte_progress("auditing", bytes_of(rt, pairs)) as advance:
            run = run_audits(rt, selection, advance, repair=repair, pairs=pairs)
    emit(run_result(run), fmt, output)
    if run.unrepaired:
        sys.exit(1)


@audit_app.command("status")
def audit_status_command(
    target: str | None = typer.Option(None, help="Only this target."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Coverage, due and overdue replicas, and open failures, per target."""
    with open_runtime() as rt, rt.sessions.begin() as session:
        grace = timedelta(hours=rt.settings.audit_overdue_grace_hours)
        policies = target_policies(session, rt.stores, rt.settings)
        check_targets(rt, session, [target])
        status = audit_status(session, policies, utcnow(), grace, target)
    emit(status_result(status), fmt, output)


@report_app.command("fixity")
def report_fixity(
    since: datetime | None = typer.Option(None, "--from", help="Start (default: 30 days ago)."),
    until: datetime | None = typer.Option(None, "--to", help="End of the period (default: now)."),
    target: str | None = typer.Option(None, help="Only this target."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Holdings, coverage, outcomes, repairs and overdue replicas per target, and every failure
    with its resolution. The JSON form is signed with the archive key."""
    now = utcnow()
    until = _aware(until) or now
    since = _aware(since) or until - timedelta(days=30)
    if since >= until:
        fail("--from must be before --to")
    with open_runtime() as rt, rt.sessions.begin() as session:
        grace = timedelta(hours=rt.settings.audit_overdue_grace_hours)
        policies = target_policies(session, rt.stores, rt.settings)
        check_targets(rt, session, [target])
        report = fixity_report(
            session, since, until, now, target=target, policies=policies, grace=grace
        )
        key = rt.signing_key
    signed = sign_report(key, report.to_dict()) if fmt is Format.JSON else {}
    html = ""
    if fmt is Format.HTML:
        settings = rt.settings
        html = render_html(
            report,
            key.key_id,
            archive_name=settings.archive_name,
            zone_name=settings.display_timezone,
        )
    emit(report_result(report, signed, html), fmt, output)


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
