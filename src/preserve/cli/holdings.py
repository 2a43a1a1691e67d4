"""``preserve sips list``, ``preserve aips list`` and ``preserve aips show``: the API's lists
from the catalogue directly, with the same filters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from preserve.access.holdings.filters import (
    DEFAULT_LIMIT,
    Filters,
    InvalidListing,
    Sort,
    check_limit,
    resolve_sort,
)
from preserve.access.holdings.items import aip_detail, aip_item, sip_item
from preserve.access.holdings.queries import AIPS, SIPS, Kind, list_page
from preserve.catalog.repository import get_aip
from preserve.cli.common import open_runtime
from preserve.cli.names import check_agency, check_targets
from preserve.cli.output import Format, format_option, output_option, print_page, to_json

sips_app = typer.Typer(help="Submission packages: list and search.", no_args_is_help=True)
aips_app = typer.Typer(help="Archival packages: list, search and show.", no_args_is_help=True)

AIP_COLUMNS = ["id", "archival_code", "title", "agency", "fonds", "year", "retention", "created_at"]
SIP_COLUMNS = ["id", "state", "archival_code", "title", "agency", "received_at"]

_Q = typer.Option(None, "--q", "-q", help="Search the record metadata.")
_AGENCY = typer.Option(None, help="Agency name.")
_STATE = typer.Option(None, help="SIP state (an AIP's is its SIP's).")
_CODE = typer.Option(None, "--archival-code", help="档号, exact.")
_PREFIX = typer.Option(None, "--archival-code-prefix", help="档号 prefix.")
_FONDS = typer.Option(None, help="全宗号")
_YEAR = typer.Option(None, help="年度")
_RETENTION = typer.Option(None, help="permanent, 30y or 10y")
_DATE_FROM = typer.Option(None, "--date-from", help="Record date on or after (YYYY-MM-DD).")
_DATE_TO = typer.Option(None, "--date-to", help="Record date on or before (YYYY-MM-DD).")
_SORT = typer.Option(None, help="ingested, -ingested, archival_code, -archival_code, relevance.")
_LIMIT = typer.Option(DEFAULT_LIMIT, help="Rows per page (at most 1000).")
_CURSOR = typer.Option(None, help="The next cursor a previous page printed.")
_FORMAT = format_option()
_OUTPUT = output_option()


def _date(value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidListing(f"{name} must be YYYY-MM-DD, not {value!r}") from None


def _run(kind: Kind, filters: dict[str, Any], sort, limit, cursor, fmt: Format, output) -> None:
    filters["date_from"] = _date(filters["date_from"], "--date-from")
    filters["date_to"] = _date(filters["date_to"], "--date-to")
    wanted = Filters(**{k: v for k, v in filters.items() if v not in (None, "")})
    order = resolve_sort(Sort(sort) if sort else None, wanted)
    with open_runtime() as rt, rt.sessions.begin() as session:
        check_agency(session, wanted.agency)
        check_targets(rt, session, [wanted.target] if kind is AIPS else [])
        page = list_page(session, kind, wanted, order, check_limit(limit), cursor)
        item = aip_item if kind is AIPS else sip_item
        rows = [item(x, page.matched.get(x.id)) for x in page.items]
    columns = AIP_COLUMNS if kind is AIPS else SIP_COLUMNS
    columns = columns + (["matched_fields"] if wanted.q else [])
    print_page(rows, columns, page.next_cursor, fmt, output, title=f"{kind.name.upper()}s")


@aips_app.command("list")
def aips_list(
    q: str | None = _Q,
    agency: str | None = _AGENCY,
    state: str | None = _STATE,
    archival_code: str | None = _CODE,
    archival_code_prefix: str | None = _PREFIX,
    fonds: str | None = _FONDS,
    year: str | None = _YEAR,
    retention: str | None = _RETENTION,
    date_from: str | None = _DATE_FROM,
    date_to: str | None = _DATE_TO,
    puid: str | None = typer.Option(None, help="Holds a file of this PRONOM id."),
    target: str | None = typer.Option(None, help="Has a copy on this target."),
    fixity: str | None = typer.Option(None, help="Outcome of a copy's last audit."),
    sort: str | None = _SORT,
    limit: int = _LIMIT,
    cursor: str | None = _CURSOR,
    fmt: Format = _FORMAT,
    output: Path | None = _OUTPUT,
) -> None:
    """List or search AIPs, one page at a time (the next cursor goes to stderr, or into JSON)."""
    filters = dict(locals())
    for name in ("sort", "limit", "cursor", "fmt", "output"):
        filters.pop(name)
    _run(AIPS, filters, sort, limit, cursor, fmt, output)


@sips_app.command("list")
def sips_list(
    q: str | None = _Q,
    agency: str | None = _AGENCY,
    state: str | None = _STATE,
    archival_code: str | None = _CODE,
    archival_code_prefix: str | None = _PREFIX,
    fonds: str | None = _FONDS,
    year: str | None = _YEAR,
    retention: str | None = _RETENTION,
    date_from: str | None = _DATE_FROM,
    date_to: str | None = _DATE_TO,
    sort: str | None = _SORT,
    limit: int = _LIMIT,
    cursor: str | None = _CURSOR,
    fmt: Format = _FORMAT,
    output: Path | None = _OUTPUT,
) -> None:
    """List or search SIPs, one page at a time (the next cursor goes to stderr, or into JSON)."""
    filters = dict(locals())
    for name in ("sort", "limit", "cursor", "fmt", "output"):
        filters.pop(name)
    _run(SIPS, filters, sort, limit, cursor, fmt, output)


@aips_app.command("show")
def aips_show(aip_id: str) -> None:
    """One AIP as JSON: its metadata, files and copies."""
    with open_runtime() as rt, rt.sessions.begin() as session:
        print(to_json(aip_detail(get_aip(session, aip_id))))
