"""``preserve appraisal``: the due list, a batch, and the destroyed records (from tombstones,
so it works after a catalogue rebuild)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from preserve.cli.common import open_runtime
from preserve.cli.output import Format, Result, emit, format_option, output_option
from preserve.disposal import appraisal as appraisals
from preserve.disposal import destruction_list as dlist
from preserve.disposal import repository as repo
from preserve.disposal.clock import now_or
from preserve.disposal.due import due_csv, due_html, due_records
from preserve.disposal.tombstones import tombstone_to_dict

appraisal_app = typer.Typer(
    help="Retention and disposal: due records, batches.", no_args_is_help=True
)


@appraisal_app.command("due")
def due(
    agency: str | None = typer.Option(None, help="Only this agency's records."),
    fonds: str | None = typer.Option(None, help="Only this fonds (全宗)."),
    year: str | None = typer.Option(None, help="Only this year (年度)."),
    as_of: datetime | None = typer.Option(None, "--as-of", help="Look at the clock as of then."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Records whose retention period has ended (到期鉴定)."""
    with open_runtime() as rt, rt.sessions.begin() as session:
        today = now_or(as_of or rt.settings.disposal_clock).date()
        rows = due_records(
            session, today, start=rt.settings.retention_start, agency=agency, fonds=fonds, year=year
        )
    dicts = [r.to_dict() for r in rows]
    emit(
        Result(
            f"records due as of {today.isoformat()}",
            [
                "archival_code",
                "title",
                "agency",
                "retention",
                "due_on",
                "held",
                "in_batch",
                "aip_id",
            ],
            dicts,
            data={"as_of": today.isoformat(), "records": dicts},
            lines=[f"{len(rows)} record(s) due"],
            render_csv=lambda: due_csv(rows),
            render_html=lambda: due_html(rows, today),
        ),
        fmt,
        output,
    )


@appraisal_app.command("show")
def show(
    appraisal_id: str = typer.Argument(..., help="The batch's id."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """A batch: its state, approvals and each decision's outcome."""
    with open_runtime() as rt, rt.sessions.begin() as session:
        batch = appraisals.appraisal_to_dict(repo.get_appraisal(session, appraisal_id))
        report = dlist.destruction_list(session, appraisal_id)
        key_id = rt.signing_key.key_id if fmt == Format.HTML else ""
    approver = batch["approver"] or {}
    emit(
        Result(
            f"appraisal {batch['id']}: {batch['state']}",
            ["archival_code", "decision", "reason", "outcome", "problem", "aip_id"],
            batch["decisions"],
            data=batch,
            lines=[
                f"proposed by {batch['proposer']['name']} at {batch['proposed_at']}",
                f"decided by {approver.get('name', '-')} at {batch['decided_at'] or '-'}",
            ],
            render_html=lambda: dlist.to_html(report, key_id),
        ),
        fmt,
        output,
    )


@appraisal_app.command("list-destroyed")
def list_destroyed(
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Every destroyed record, from the tombstones (kept after a catalogue rebuild)."""
    with open_runtime() as rt, rt.sessions.begin() as session:
        rows = [tombstone_to_dict(t) for t in repo.tombstones(session)]
    for row in rows:
        row.pop("signed")
        row.pop("files")
    emit(
        Result(
            "destroyed records",
            [
                "archival_code",
                "title",
                "agency",
                "retention",
                "decision",
                "destroyed_at",
                "appraisal_id",
                "aip_id",
            ],
            rows,
            data={"records": rows},
            lines=[f"{len(rows)} destroyed record(s)"],
        ),
        fmt,
        output,
    )
