"""The preservation officer's pages: the dashboard and the fixity report for a period."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from preserve.api.console.auth import Viewer, allow, checked_form, runtime_of
from preserve.api.console.nav import OFFICERS
from preserve.api.console.render import page
from preserve.audit.dashboard import dashboard, take_snapshot
from preserve.audit.report import fixity_report
from preserve.audit.signed import sign_report
from preserve.audit.targets import target_policies
from preserve.catalog.types import utcnow
from preserve.errors import InvalidInput

router = APIRouter(prefix="/console", include_in_schema=False)
_OFFICER = Depends(allow(*OFFICERS))


@router.get("/dashboard")
def officer_dashboard(request: Request, who: Viewer = _OFFICER) -> Response:
    """The counts of the latest snapshot (the scheduler's, or counted now if there is none),
    open failures, repairs and alerts as they are now."""
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        board = dashboard(session, rt.stores, rt.settings, utcnow())
        return page(request, "dashboard.html", {"who": who, "board": board})


@router.post("/dashboard/refresh")
def recount_dashboard(request: Request, who: Viewer = _OFFICER, _form=Depends(checked_form)):
    """Count the dashboard's figures now rather than wait for the scheduler's next snapshot."""
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        take_snapshot(session, rt.stores, rt.settings, utcnow())
    return RedirectResponse("/console/dashboard", status_code=303)


def _period(since: date | None, until: date | None) -> tuple[datetime, datetime]:
    """Whole UTC days, ``until`` included; default the last 30 days."""
    now = utcnow()
    end = datetime.combine(until, time(), UTC) + timedelta(days=1) if until else now
    start = datetime.combine(since, time(), UTC) if since else end - timedelta(days=30)
    if start >= end:
        raise InvalidInput("the period must start before it ends")
    return start, end


def _report(request: Request, since: date | None, until: date | None):
    rt = runtime_of(request)
    start, end = _period(since, until)
    grace = timedelta(hours=rt.settings.audit_overdue_grace_hours)
    with rt.sessions.begin() as session:
        policies = target_policies(session, rt.stores, rt.settings)
        return fixity_report(session, start, end, utcnow(), policies=policies, grace=grace)


_FROM = Query(None, alias="from", description="First day (YYYY-MM-DD).")
_TO = Query(None, alias="to", description="Last day, included.")


@router.get("/reports/fixity")
def fixity_page(
    request: Request, since: date | None = _FROM, until: date | None = _TO, who: Viewer = _OFFICER
) -> Response:
    report = _report(request, since, until)
    form = {"from": since.isoformat() if since else "", "to": until.isoformat() if until else ""}
    rt = runtime_of(request)
    context = {"who": who, "report": report, "form": form, "key_id": rt.signing_key.key_id}
    return page(request, "fixity.html", context)


@router.get("/reports/fixity.json")
def fixity_json(
    request: Request, since: date | None = _FROM, until: date | None = _TO, who: Viewer = _OFFICER
) -> Response:
    """The same report signed with the archive key (check it with ``preserve report verify``)."""
    report = _report(request, since, until)
    signed = sign_report(runtime_of(request).signing_key, report.to_dict())
    name = f"fixity-{report.period_from[:10]}-{report.period_to[:10]}.json"
    return JSONResponse(signed, headers={"Content-Disposition": f'attachment; filename="{name}"'})
