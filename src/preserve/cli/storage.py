"""``preserve storage ...``: profiles, target checks, replication status, reconcile."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from preserve.catalog.types import utcnow
from preserve.cli import rebuild
from preserve.cli.common import console, err_console, open_runtime
from preserve.cli.names import check_targets
from preserve.cli.output import Format, Result, emit, format_option, output_option
from preserve.errors import ConfigurationError, PreserveError
from preserve.jobs.tasks.health import find_vanished, free_space, record_vanished, sweep_debris
from preserve.runtime import Runtime
from preserve.storage.check import ProfileCheck, check_profile
from preserve.storage.placement import bind_agency, list_profiles
from preserve.storage.reconcile import (
    ReconcileReport,
    clear_stale_uploads,
    keep_last,
    list_target,
    plan_reconcile,
    record_reconcile,
)
from preserve.storage.repository import profiles_in_use, proven_counts
from preserve.storage.status import StorageStatus, storage_status

storage_app = typer.Typer(help="Storage targets, profiles and replication.", no_args_is_help=True)
storage_app.command("rebuild")(rebuild.storage_rebuild)


@storage_app.command("check")
def storage_check(
    profile: str | None = typer.Argument(None, help="Profile name or path; default: the default."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Probe every target of a profile: reachable, write/read/delete (read-only on WORM),
    versioning and Object Lock, and whether the healthy targets can meet the policy.
    Exits 1 if any target fails or the policy cannot be met."""
    with open_runtime() as rt:
        ref = profile or rt.settings.storage_profile
        loaded = rt.profile(ref)
        with rt.sessions.begin() as session:
            held = proven_counts(session)
        with err_console.status(f"checking {len(loaded.targets)} targets of {loaded.name}"):
            result = check_profile(
                loaded,
                lambda name: rt.store(ref, name),
                held,
                data_dir=rt.settings.resolved_data_dir,
                warn_below=rt.settings.free_space_warn_bytes,
            )
            record_vanished(rt, find_vanished(rt, [ref]))  # alert, fail its replicas, settle
    emit(_check_result(result), fmt, output)
    if not (result.ok and result.policy_met_by_healthy_targets):
        sys.exit(1)


@storage_app.command("status")
def storage_status_command(
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Replicas per target, the replication backlog, the oldest waiting copy, outages and
    failures, from the catalogue; each target that held replicas is looked at (a directory
    test or one listing) and one that has vanished is named. Exits 1 when one has."""
    with open_runtime() as rt:
        vanished = find_vanished(rt)
        with rt.sessions.begin() as session:
            known = _known_targets(rt, session)
            status = storage_status(session, known, utcnow(), vanished)
            status.space = [s.to_dict() for s in free_space(rt, session)]
    emit(_status_result(status), fmt, output)
    if status.vanished:
        sys.exit(1)


@storage_app.command("reconcile")
def storage_reconcile(
    target: str = typer.Argument(..., help="The target to reconcile with the catalogue."),
    profile: str | None = typer.Option(None, help="Only AIPs under this profile."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report only; queue nothing."),
    abort_uploads_after_hours: float | None = typer.Option(
        None, help="Abort unfinished multipart uploads older than this many hours."
    ),
    debris_after_minutes: float | None = typer.Option(
        None,
        min=0,
        help="Remove temporary objects and unacknowledged staging untouched this long "
        "(default: the debris_max_age_hours setting).",
    ),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """List objects the catalogue does not know and expected copies that are missing; queue
    the missing copies again. Exits 1 when anything was found."""
    after = abort_uploads_after_hours
    older = timedelta(hours=after) if after is not None else None
    with open_runtime() as rt, err_console.status(f"listing {target} against the catalogue"):
        with rt.sessions.begin() as session:
            check_targets(rt, session, [target])
        debris_age = (
            None if debris_after_minutes is None else timedelta(minutes=debris_after_minutes)
        )
        report = reconcile(
            rt,
            target,
            profile_ref=profile,
            dry_run=dry_run,
            abort_uploads_older_than=older,
            debris_older_than=debris_age,
        )
    emit(_reconcile_result(report), fmt, output)
    if report.unknown or report.missing:
        sys.exit(1)


@storage_app.command("profiles")
def storage_profiles(
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """The profiles in the profiles directory, their policy and targets, and bound agencies."""
    with open_runtime() as rt, rt.sessions.begin() as session:
        entries = list_profiles(session, rt.stores)
    rows = [
        {
            "name": e.name,
            "default": "yes" if e.is_default else "",
            "policy": ", ".join(f"{k}={v}" for k, v in e.policy.items()),
            "targets": ", ".join(e.targets),
            "agencies": ", ".join(e.agencies),
            "problem": e.error or "",
        }
        for e in entries
    ]
    columns = ["name", "default", "policy", "targets", "agencies", "problem"]
    data = [asdict(e) for e in entries]
    emit(Result("storage profiles", columns, rows, data=data), fmt, output)


@storage_app.command("assign")
def storage_assign(
    agency: str = typer.Argument(..., help="The agency's name."),
    profile: str | None = typer.Option(None, help="The profile its new SIPs go under."),
    default: bool = typer.Option(False, "--default", help="Back to PRESERVE_STORAGE_PROFILE."),
) -> None:
    """Bind an agency to a storage profile (its SIPs from now on; placed AIPs stay put)."""
    if (profile is None) == (not default):
        raise typer.BadParameter("give --profile NAME or --default")
    with open_runtime() as rt, rt.sessions.begin() as session:
        bind_agency(session, rt.stores, agency, None if default else profile)
    where = "the default profile" if default else f"profile {profile!r}"
    console.print(f"agency {agency!r} now places new SIPs under {where}", highlight=False)


def reconcile(
    rt: Runtime,
    target: str,
    *,
    profile_ref: str | None = None,
    dry_run: bool = False,
    abort_uploads_older_than: timedelta | None = None,
    debris_older_than: timedelta | None = None,
) -> ReconcileReport:
    """Reconcile ``target`` with the catalogue: the listing holds no transaction. What it found
    (or why it failed) is kept for the ops console's storage page."""
    try:
        report = _reconcile(rt, target, profile_ref, dry_run, abort_uploads_older_than)
    except (PreserveError, OSError) as exc:
        keep_last(rt.settings.resolved_data_dir, target, None, str(exc))
        raise
    swept = sweep_debris(rt, [target], dry_run=dry_run, older_than=debris_older_than)
    report.temporary_objects = swept.temporary.get(target, [])
    report.unacknowledged_staging = swept.staging
    report.debris_bytes = swept.bytes
    keep_last(rt.settings.resolved_data_dir, target, report)
    return report


def _reconcile(
    rt: Runtime,
    target: str,
    profile_ref: str | None,
    dry_run: bool,
    abort_uploads_older_than: timedelta | None,
) -> ReconcileReport:
    with rt.sessions.begin() as session:
        report = plan_reconcile(
            session, rt.stores, target, profile_ref=profile_ref, dry_run=dry_run
        )
    listed = list_target(rt.stores, report)
    with rt.sessions.begin() as session:
        record_reconcile(session, rt.stores, report, listed)
    clear_stale_uploads(rt.stores, report, abort_uploads_older_than)
    return report


def _known_targets(rt: Runtime, session: Session) -> list[str]:
    refs = {rt.settings.storage_profile} | profiles_in_use(session)
    names: set[str] = set()
    for ref in sorted(refs):
        try:
            names.update(t.name for t in rt.profile(ref).targets)
        except ConfigurationError as exc:
            err_console.print(f"warning: {exc}", markup=False, highlight=False)
    return sorted(names)


# -- rendering ----------------------------------------------------------------------------


def _check_result(result: ProfileCheck) -> Result:
    columns = [
        "target",
        "kind",
        "site",
        "media",
        "reachable",
        "probe",
        "versioning",
        "object_lock",
        "verify",
        "ok",
        "problems",
        "notes",
    ]
    rows = [
        [
            t.target,
            t.kind,
            t.site,
            t.media,
            _yn(t.reachable),
            t.probe,
            _yn(t.versioning),
            _yn(t.object_lock),
            t.verify,
            _yn(t.ok),
            "; ".join(t.problems),
            "; ".join(t.notes),
        ]
        for t in result.targets
    ]
    policy = ", ".join(f"{k}={v}" for k, v in result.policy.items())
    verdict = "can" if result.policy_met_by_healthy_targets else "CANNOT"
    lines = [f"problem {t.target}: {p}" for t in result.targets for p in t.problems]
    lines += [f"note {t.target}: {n}" for t in result.targets for n in t.notes]
    lines += [f"WARNING low free space {w}" for t in result.targets for w in t.warnings]
    if result.data_dir is not None:
        lines.append(_space_line(result.data_dir))
    lines.append(f"policy {policy}: the healthy targets {verdict} meet it")
    title = f"storage check of profile {result.profile}"
    return _result(title, columns, rows, result.to_dict(), lines, narrow=10)


def _space_line(space: dict) -> str:
    if space.get("warning"):
        return f"WARNING low free space {space['warning']}"
    return f"free space {space['name']}: {space['free']} bytes of {space['total']}"


def _status_result(status: StorageStatus) -> Result:
    columns = [
        "target",
        "verified",
        "pending",
        "failed",
        "backlog",
        "running",
        "waiting_on_outage",
        "dead",
        "oldest_pending",
        "down_since",
        "next_probe",
        "verified_bytes",
        "outage_failures",
        "last_error",
    ]
    rows = [[_cell(getattr(t, c)) for c in columns] for t in status.targets]
    lines = [
        f"outage {t.target}: {t.outage_failures} failed probes; {t.last_error}"
        for t in status.targets
        if t.down_since
    ]
    lines += [f"VANISHED {name}: {problem}" for name, problem in sorted(status.vanished.items())]
    lines += [_space_line(space) for space in status.space]
    lines += [f"failure {f.aip_id} on {f.target}: {f.kind}; {f.detail}" for f in status.failures]
    summary = f"first copies waiting: {status.first_copies_waiting}"
    if status.oldest_first_copy:
        summary += f" (oldest {status.oldest_first_copy})"
    lines.append(summary + f"; failures: {len(status.failures)}")
    return _result("storage status", columns, rows, status.to_dict(), lines, narrow=9)


def _reconcile_result(report: ReconcileReport) -> Result:
    columns = ["finding", "aip", "detail"]
    rows = [
        ["unknown object", key.split("/", 1)[0], key.split("/", 1)[1]] for key in report.unknown
    ]
    rows += [
        [
            "missing copy",
            m.aip_id,
            f"{m.files_missing} objects missing (e.g. {m.example}); replica was "
            f"{m.replica_state}; {'queued again' if m.requeued else 'not queued (dry run)'}",
        ]
        for m in report.missing
    ]
    rows += [["copy in progress", a, "left to its job"] for a in report.in_progress]
    rows += [
        [
            "unfinished upload",
            u["key"],
            f"since {u['initiated']}" + ("; aborted" if u["aborted"] else ""),
        ]
        for u in report.stale_uploads
    ]
    done = "found (dry run)" if report.dry_run else "removed"
    rows += [["temporary object", p, f"left by a writer; {done}"] for p in report.temporary_objects]
    rows += [
        ["unacknowledged staging", s, f"no SIP row; {done}"] for s in report.unacknowledged_staging
    ]
    summary = (
        f"{report.objects_listed} objects listed; {report.aips_complete} of "
        f"{report.aips_expected} expected AIPs complete; {len(report.unknown)} unknown "
        f"objects; {len(report.missing)} missing copies; "
        f"{len(report.temporary_objects) + len(report.unacknowledged_staging)} debris "
        f"({report.debris_bytes} bytes freed)" + (" (dry run)" if report.dry_run else "")
    )
    return _result(f"reconcile {report.target}", columns, rows, report.to_dict(), [summary])


def _result(
    title: str,
    columns: list[str],
    rows: list[list[str]],
    data: dict,
    lines: list[str],
    narrow: int | None = None,
) -> Result:
    """JSON and CSV carry everything; the table shows the first ``narrow`` columns, and the
    lines (problems, outages, the summary) follow it."""
    dicts = [dict(zip(columns, row, strict=True)) for row in rows]
    return Result(title, columns, dicts, data=data, lines=lines, table_columns=columns[:narrow])


def _yn(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
