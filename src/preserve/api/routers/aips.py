"""``/v1/aips``: what the archive holds for a record."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, require
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.api.schemas import AipOut
from preserve.catalog.models import Role
from preserve.catalog.repository import get_aip

router = APIRouter(prefix="/v1/aips", tags=["aips"])


@router.get("/{aip_id}", response_model=AipOut, responses=PROBLEM_RESPONSES)
def read_aip(
    aip_id: str,
    who: Principal = Depends(require(Role.SUBMITTER, Role.OFFICER, Role.OPS)),
    session: Session = Depends(db),
) -> AipOut:
    return AipOut.of(get_aip(session, aip_id, agency_id=who.scope))
