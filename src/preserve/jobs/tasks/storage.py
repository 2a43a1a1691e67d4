"""Jobs the storage package owns: the first copy of an AIP and each further replica.

Each runs as plan -> copy -> record (:mod:`preserve.storage.service`): the catalogue is read
in one transaction, the bytes are copied with none open, and the outcome is written in
another. A target that fails a first copy is recorded at once, in its own transaction. The
staged bag is removed once the transaction that finds every target verified has committed.
"""

from __future__ import annotations

from typing import Any

from preserve.errors import IntegrityError
from preserve.ingest.staging import bag_dir, discard
from preserve.jobs.registry import task
from preserve.runtime import Runtime
from preserve.storage.service import (
    AipPlan,
    FailureNote,
    Origin,
    copy_to_target,
    first_copy,
    plan_replica,
    plan_store,
    record_failed_copy,
    record_first_copy,
    record_replica,
    record_target_failure,
)
from preserve.trust.signing import Signature, verify


@task("storage.store")
def store(rt: Runtime, payload: dict[str, Any]) -> None:
    with rt.sessions.begin() as session:
        plan = plan_store(session, payload["aip_id"])
    proven = first_copy(plan, rt.stores, origin(rt, plan.aip), _failure_note(rt, plan.aip))
    with rt.sessions.begin() as session:
        complete = record_first_copy(session, plan.aip, rt.stores, proven)
    if complete:
        discard(rt.settings.staging_dir, plan.aip.sip_id)


@task("storage.replicate")
def replicate(rt: Runtime, payload: dict[str, Any]) -> None:
    target = payload["target"]
    with rt.sessions.begin() as session:
        plan = plan_replica(session, payload["aip_id"], target)
    if plan is None:
        return
    try:
        copy_to_target(plan, target, rt.stores, origin(rt, plan.aip))
    except IntegrityError as exc:
        with rt.sessions.begin() as session:
            record_failed_copy(session, plan.aip, target, str(exc))
        raise
    with rt.sessions.begin() as session:
        complete = record_replica(session, plan.aip, rt.stores, target)
    if complete:
        discard(rt.settings.staging_dir, plan.aip.sip_id)


def origin(rt: Runtime, plan: AipPlan) -> Origin:
    """The staged bag of the AIP's SIP, and its signature checked against the keyring."""

    def verify_tagmanifest(signature: bytes, tagmanifest: bytes) -> None:
        verify(Signature.from_json(signature), tagmanifest, rt.trusted_keys())

    return Origin(bag_dir(rt.settings.staging_dir, plan.sip_id), verify_tagmanifest)


def _failure_note(rt: Runtime, plan: AipPlan) -> FailureNote:
    def note(target: str, exc: Exception) -> None:
        with rt.sessions.begin() as session:
            record_target_failure(
                session, plan, target, exc, max_backoff=rt.settings.storage_retry_max_seconds
            )

    return note
