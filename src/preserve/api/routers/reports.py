"""``/v1/reports``: evidence for preservation officers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, require
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.audit.report import fixity_report
from preserve.catalog.models import Role
from preserve.catalog.types import utcnow

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/fixity", responses=PROBLEM_RESPONSES)
def read_fixity_report(
    since: datetime | None = Query(
        None, alias="from", description="Start of the period (ISO 8601)."
    ),
    until: datetime | None = Query(None, alias="to", description="End of the period (ISO 8601)."),
    _: Principal = Depends(require(Role.OFFICER)),
    session: Session = Depends(db),
) -> dict[str, Any]:
    """Replicas and bytes per target, fixity checks in the period, and every failure."""
    return fixity_report(session, since, until, utcnow()).to_dict()
