"""``/v1/reports``: evidence for preservation officers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, require, runtime
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.audit.render_html import render_html
from preserve.audit.report import fixity_report, to_csv
from preserve.audit.signed import sign_report
from preserve.audit.targets import target_policies
from preserve.catalog.models import Role
from preserve.catalog.types import utcnow
from preserve.errors import InvalidInput
from preserve.runtime import Runtime

router = APIRouter(prefix="/v1/reports", tags=["reports"])


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"


@router.get(
    "/fixity",
    responses={
        **PROBLEM_RESPONSES,
        200: {
            "description": "The signed report (JSON), or CSV, or a printable HTML page.",
            "content": {"text/csv": {}, "text/html": {}},
        },
    },
)
def read_fixity_report(
    since: datetime | None = Query(
        None, alias="from", description="Start of the period (ISO 8601; default: 30 days ago)."
    ),
    until: datetime | None = Query(
        None, alias="to", description="End of the period (ISO 8601; default: now)."
    ),
    target: str | None = Query(None, description="Only this target."),
    format: ReportFormat = Query(ReportFormat.JSON, description="json (signed), csv or html."),
    _: Principal = Depends(require(Role.OFFICER)),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> Any:
    """Objects and bytes per target, coverage, outcomes, repairs, overdue replicas, and every
    failure with its resolution. The JSON form is signed with the archive key
    (``{"report": ..., "signature": ...}``; check it with ``preserve report verify``)."""
    now = utcnow()
    since, until = _period(since, until, now)
    grace = timedelta(hours=rt.settings.audit_overdue_grace_hours)
    policies = target_policies(session, rt.stores, rt.settings)
    report = fixity_report(
        session, since, until, now, target=target, policies=policies, grace=grace
    )
    if format == ReportFormat.CSV:
        return Response(to_csv(report), media_type="text/csv; charset=utf-8")
    if format == ReportFormat.HTML:
        page = render_html(
            report,
            rt.signing_key.key_id,
            archive_name=rt.settings.archive_name,
            zone_name=rt.settings.display_timezone,
        )
        return HTMLResponse(page)
    return JSONResponse(sign_report(rt.signing_key, report.to_dict()))


def _period(since: datetime | None, until: datetime | None, now: datetime):
    """The report's period, aware; a date too near year 1 or 9999 is refused, not a 500."""
    try:
        until = _aware(until) or now
        since = _aware(since) or until - timedelta(days=30)
        if since >= until:
            raise InvalidInput("'from' must be before 'to'")
        (since - timedelta(days=1)).astimezone(UTC), (until + timedelta(days=1)).astimezone(UTC)
    except OverflowError:
        raise InvalidInput("'from' and 'to' must lie between the years 2 and 9998") from None
    return since, until


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
