"""``/metrics`` for Prometheus: no token (Prometheus scrapes it), counts only."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from preserve.api import http_metrics
from preserve.api.deps import db, runtime
from preserve.audit.metrics import CONTENT_TYPE, render, render_space
from preserve.catalog.types import utcnow
from preserve.jobs.tasks.health import free_space
from preserve.runtime import Runtime
from preserve.storage.placement import known_targets

router = APIRouter(tags=["system"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
def metrics(session: Session = Depends(db), rt: Runtime = Depends(runtime)) -> Response:
    """Audits, failures, repairs, overdue replicas, bytes read, alerts and replication backlog
    in the Prometheus text format, then this process's HTTP and process metrics. Labels are
    targets, outcomes and route templates, never record names or ids."""
    grace = timedelta(hours=rt.settings.audit_overdue_grace_hours)
    targets = known_targets(session, rt.stores)
    text = render(session, utcnow(), grace, targets)
    text += render_space(free_space(rt, session)) + http_metrics.render()
    return Response(text, media_type=CONTENT_TYPE)
