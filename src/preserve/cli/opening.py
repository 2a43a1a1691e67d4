"""``preserve opening due|publish``: records due for opening review, and issuing the catalogue
of open records (开放档案目录) for a period. ``preserve serve-public`` runs the public face."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import typer

from preserve.catalog.types import utcnow
from preserve.cli.common import fail, open_runtime
from preserve.cli.output import Format, Result, emit, format_option, output_option
from preserve.opening import catalogue
from preserve.opening.due import Periods, due
from preserve.trust.duties import Duty, cli_agent

opening_app = typer.Typer(
    help="Opening review (开放审核) and the published catalogue.", no_args_is_help=True
)
_DUE_COLUMNS = ["aip_id", "archival_code", "title", "formed_on", "due_on", "classification"]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name} must be a date (YYYY-MM-DD), not {value!r}", code=2)
        raise  # unreachable: fail exits


@opening_app.command("due")
def due_command(
    as_of: str | None = typer.Option(None, "--as-of", help="The day to ask about (YYYY-MM-DD)."),
    limit: int = typer.Option(100, min=1, max=100_000, help="At most this many records."),
    fmt: Format = format_option(),
    output: Path | None = output_option(),
) -> None:
    """Records due for opening review: formation + the period of their category."""
    day = _day(as_of, "--as-of") or utcnow().date()
    with open_runtime() as rt, rt.sessions.begin() as session:
        s = rt.settings
        items = due(
            session, day, Periods(s.opening_period_years, s.opening_period_years_by_category), limit
        )
    emit(
        Result(
            f"due for opening review on {day.isoformat()}",
            [*_DUE_COLUMNS, "secrecy_period", "opening_advice"],
            items,
            table_columns=_DUE_COLUMNS,
            lines=[f"{len(items)} records due"],
        ),
        fmt,
        output,
    )


@opening_app.command("publish")
def publish_command(
    period_from: str | None = typer.Option(
        None, "--from", help="First day of the period (default: 30 days ago)."
    ),
    period_to: str | None = typer.Option(None, "--to", help="Last day (default: yesterday)."),
    fmt: Format = format_option(Format.JSON),
    output: Path | None = output_option(),
) -> None:
    """Issue the signed catalogue of records opened in a period (JSON signed, CSV, page)."""
    today = utcnow().date()
    end = _day(period_to, "--to") or today - timedelta(days=1)
    start = _day(period_from, "--from") or end - timedelta(days=29)
    with open_runtime() as rt, rt.sessions.begin() as session:
        fields = rt.settings.public_fields
        row = catalogue.publish(
            session, start, end, rt.signing_key, cli_agent(Duty.SYSTEM_ADMINISTRATOR), fields
        )
        document = json.loads(row.document)
    body = document["catalogue"]
    columns = ["id", "opened_at", *fields]
    emit(
        Result(
            f"开放档案目录 catalogue of open records {start.isoformat()} – {end.isoformat()}",
            columns,
            body["entries"],
            data=document,
            render_csv=lambda: catalogue.to_csv(body),
            lines=[f"catalogue {row.id}: {row.record_count} records, signed by {row.key_id}"],
        ),
        fmt,
        output,
    )


def serve_public(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8001, help="Port to listen on."),
    proxy_headers: bool = typer.Option(
        False, help="Take the client address from X-Forwarded-For (behind a trusted proxy)."
    ),
) -> None:
    """Run the public face alone (open records only; for a DMZ), at /public/."""
    import uvicorn

    from preserve.logs import configure
    from preserve.settings import Settings

    settings = Settings()
    configure(settings.log_format, settings.log_level)
    # By name: the CLI never imports the API (the import contract).
    uvicorn.run(
        "preserve.api.public.app:create_standalone_app",
        factory=True,
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        access_log=False,  # no client addresses in any log
        log_config=None,
    )
