"""Jobs the ingest package owns."""

from __future__ import annotations

from typing import Any

from preserve.ingest import process
from preserve.ingest.package import package
from preserve.ingest.profile import load_profile
from preserve.jobs.registry import task
from preserve.runtime import Runtime
from preserve.trust.guomi import guomi_signer


@task("ingest.process")
def process_sip(rt: Runtime, payload: dict[str, Any]) -> None:
    """Check a received SIP and package it, or reject it: plan in one short transaction, the
    file work (identification in ``identify_workers`` processes, scans, the bag) with none, the
    outcome recorded in a second transaction."""
    settings = rt.settings
    with rt.sessions.begin() as session:
        plan = process.plan(session, payload["sip_id"])
    if plan is None:
        return
    profile = load_profile(settings.profiles_dir, plan.agency_name)
    checked = process.check(plan, settings.staging_dir, profile, settings.identify_workers)
    packaged = None
    if not checked.report.failures:
        sm2_key = guomi_signer(rt.profile(plan.profile_ref), rt.keyring)
        packaged = package(plan, checked, settings.staging_dir, rt.signing_key, sm2_key)
    with rt.sessions.begin() as session:
        process.record(session, plan, checked, packaged, settings.staging_dir)
