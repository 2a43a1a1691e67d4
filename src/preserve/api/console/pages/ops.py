"""Ops staff: targets and storage status with the last reconcile of each target, and the job
queue with a retry for dead jobs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from preserve.api.console.auth import Viewer, allow, checked_form, runtime_of
from preserve.api.console.nav import OPS
from preserve.api.console.render import page
from preserve.audit.targets import target_policies
from preserve.catalog import queue
from preserve.catalog.models import JobState
from preserve.catalog.types import utcnow
from preserve.storage.reconcile import last_reconciles
from preserve.storage.status import storage_status

router = APIRouter(prefix="/console/ops", include_in_schema=False)
_OPS = Depends(allow(*OPS))


@router.get("/storage")
def storage(request: Request, who: Viewer = _OPS) -> Response:
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        policies = target_policies(session, rt.stores, rt.settings)
        status = storage_status(session, sorted(policies), utcnow())
    reconciles = last_reconciles(rt.settings.resolved_data_dir)
    context = {"who": who, "status": status, "reconciles": reconciles}
    return page(request, "ops_storage.html", context)


@router.get("/jobs")
def jobs(request: Request, who: Viewer = _OPS) -> Response:
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        counts = queue.job_counts(session)
        dead = [
            (j.id, j.kind, j.attempts, j.finished_at, (j.last_error or "").strip()[-500:])
            for j in queue.jobs_in_state(session, JobState.DEAD)
        ]
    return page(request, "ops_jobs.html", {"who": who, "counts": counts, "dead": dead})


@router.post("/jobs/{job_id}/retry")
def retry(request: Request, job_id: int, who: Viewer = _OPS, _form=Depends(checked_form)):
    rt = runtime_of(request)
    with rt.sessions.begin() as session:
        queue.retry_dead(session, job_id, utcnow())
    return RedirectResponse("/console/ops/jobs", status_code=303)
