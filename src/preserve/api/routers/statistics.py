"""``GET /v1/statistics``: records, files and bytes by one dimension, as JSON, CSV or HTML."""

from __future__ import annotations

import enum
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from preserve.access.statistics.queries import By, statistics
from preserve.access.statistics.render import as_csv, as_html, as_json
from preserve.api.deps import Principal, db, require, runtime
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.catalog.models import Role
from preserve.runtime import Runtime

router = APIRouter(tags=["holdings"])


class StatsFormat(enum.StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"


class StatRow(BaseModel):
    key: str | None
    records: int
    files: int
    bytes: int


class StatisticsOut(BaseModel):
    by: str
    rows: list[StatRow]


@router.get(
    "/v1/statistics",
    operation_id="getStatistics",
    response_model=StatisticsOut,
    responses={
        **PROBLEM_RESPONSES,
        200: {"content": {"text/csv": {}, "text/html": {}}, "description": "The statistics"},
    },
    summary="Holdings statistics: records, files and bytes by one dimension",
)
def read_statistics(
    by: By = Query(By.AGENCY, description="state counts SIPs; the rest count AIPs."),
    format: StatsFormat = Query(StatsFormat.JSON),
    agency: str | None = Query(None, description="Only this agency (a submitter: its own)."),
    who: Principal = Depends(require(Role.SUBMITTER, Role.OFFICER, Role.OPS)),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> Any:
    rows = statistics(session, by, scope=who.scope, agency=agency)
    if format is StatsFormat.CSV:
        return PlainTextResponse(as_csv(rows), media_type="text/csv; charset=utf-8")
    if format is StatsFormat.HTML:
        page = {"archive_name": rt.settings.archive_name, "zone_name": rt.settings.display_timezone}
        return HTMLResponse(as_html(by, rows, **page))
    return JSONResponse(as_json(by, rows))
