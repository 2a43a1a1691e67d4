"""Health, the archive's public keys, and the auditor's view of the event log."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Session

from preserve.api.deps import Principal, db, principal, runtime
from preserve.api.problems import PROBLEM_RESPONSES
from preserve.audit.queries import aips_at_risk
from preserve.catalog.models import Event
from preserve.jobs.tasks.health import free_space
from preserve.jobs.tasks.trust import verify_log
from preserve.runtime import Runtime
from preserve.storage.repository import outages
from preserve.trust.duties import Action, authorize
from preserve.trust.repository import log_page

router = APIRouter(tags=["system"])


class KeyOut(BaseModel):
    key_id: str
    algorithm: str = Field(description="Ed25519 or SM2-with-SM3.")
    public_key_pem: str
    current: bool = Field(description="New signatures of this algorithm use this key.")
    created_at: datetime | None
    retired_at: datetime | None = Field(description="When a rotation replaced it.")
    revoked_from: datetime | None = Field(
        description="Signatures made by this key on or after this time are refused."
    )
    revocation_reason: str | None


class LogEventOut(BaseModel):
    seq: int | None
    id: str
    type: str
    outcome: str
    detail: str
    agent: str
    object_type: str
    object_id: str
    target: str | None
    time: datetime
    prev_hash: str | None
    entry_hash: str | None


@router.get("/health", operation_id="getHealth")
def health(session: Session = Depends(db), rt: Runtime = Depends(runtime)) -> dict[str, Any]:
    """Liveness and database reachability; needs no token. ``status`` is ``degraded`` (still
    200: the service answers) with ``degraded`` naming each cause: low free space on the data
    directory or a filesystem target, a target in outage, AIPs at risk. Counts only, no ids."""
    session.execute(text("SELECT 1"))
    degraded = [s.warning for s in free_space(rt, session) if s.low]
    degraded += [
        f"target {o.resource} is down since {o.since.isoformat()}" for o in outages(session)
    ]
    at_risk = aips_at_risk(session)
    if at_risk:
        degraded.append(f"{at_risk} AIPs at risk: their policy does not hold over verified copies")
    return {"status": "degraded" if degraded else "ok", "degraded": degraded}


@router.get("/v1/keys", response_model=list[KeyOut], responses=PROBLEM_RESPONSES)
def public_keys(_: Principal = Depends(principal), rt: Runtime = Depends(runtime)) -> list[KeyOut]:
    """Every public key that verifies the archive's signatures (bags, receipts, reports, log
    checkpoints), which one signs now, and since when a revoked key is no longer trusted."""
    rt.signing_key  # noqa: B018 - the first key is made on first use
    return [KeyOut(**info.to_dict()) for info in rt.keyring.list()]


@router.get("/v1/log/events", response_model=list[LogEventOut], responses=PROBLEM_RESPONSES)
def log_events(
    after: int = Query(0, ge=0, le=2**63 - 1, description="Entries after this position."),
    limit: int = Query(100, ge=1, le=1000),
    who: Principal = Depends(principal),
    session: Session = Depends(db),
) -> list[LogEventOut]:
    """The hash-chained event log in order (the security auditor's role only, 三员分立)."""
    authorize(who.role, Action.LOG_READ)
    return [_event_out(e) for e in log_page(session, after, limit)]


@router.get("/v1/log/verification", responses=PROBLEM_RESPONSES)
async def log_verification(
    who: Principal = Depends(principal), rt: Runtime = Depends(runtime)
) -> dict[str, Any]:
    """Replay the chain against the signed checkpoints in every store and name the first bad
    entry (the security auditor's role only). The verification itself is logged."""
    authorize(who.role, Action.LOG_VERIFY)
    agent = f"agency:{who.agency_name} as auditor"
    report = await anyio.to_thread.run_sync(
        partial(verify_log, rt, agent=agent, agency_id=who.agency_id)
    )
    return report.to_dict()


def _event_out(e: Event) -> LogEventOut:
    return LogEventOut(
        seq=e.seq,
        id=e.uuid,
        type=e.type,
        outcome=e.outcome,
        detail=e.detail,
        agent=e.agent,
        object_type=e.object_type,
        object_id=e.object_id,
        target=e.target,
        time=e.created_at,
        prev_hash=e.prev_hash,
        entry_hash=e.entry_hash,
    )
