"""The destruction job of an approved appraisal batch (preserve.disposal.destruction).

Plan -> for each record, each target: empty it and prove it empty with no transaction open,
then record that target's proof in its own -> once every target of a record is proven empty,
the signed tombstone goes to each of them and the record leaves the catalogue -> the batch is
done when no record is left to destroy, and its signed destruction list is written to the
targets it emptied (``disposal/lists/<batch>.json``). A target that is down raises a
retryable error: the job waits and starts again from what is already proven.
"""

from __future__ import annotations

from typing import Any

from preserve.disposal import destruction, tombstones
from preserve.disposal import destruction_list as dlist
from preserve.errors import DestructionRefused
from preserve.ingest.staging import discard
from preserve.jobs.registry import task
from preserve.runtime import Runtime


@task("disposal.destroy")
def destroy(rt: Runtime, payload: dict[str, Any]) -> None:
    with rt.sessions.begin() as session:
        plan = destruction.plan(session, payload["appraisal_id"])
    if plan is None:
        return
    refused: DestructionRefused | None = None
    for item in plan.items:
        try:
            _destroy_one(rt, item)
        except DestructionRefused as exc:  # reported; the other records still go
            refused = refused or exc
    with rt.sessions.begin() as session:
        finished = destruction.finish_batch(session, plan.appraisal_id)
        signed = dlist.signed(rt.signing_key, dlist.destruction_list(session, plan.appraisal_id))
    if finished:
        for profile, target in sorted({(i.profile, t) for i in plan.items for t in i.targets}):
            dlist.write_to(rt.store(profile, target), signed)
    if refused is not None:
        raise refused


def _destroy_one(rt: Runtime, item: destruction.Item) -> None:
    for target in item.targets:
        if target in item.done:
            continue
        store = rt.store(item.profile, target)
        try:
            when = destruction.empty_target(store, item.aip_id, lawful=True)
        except DestructionRefused as exc:
            with rt.sessions.begin() as session:
                destruction.record_refusal(session, item, target, str(exc))
            raise
        with rt.sessions.begin() as session:
            destruction.record_target(session, item, target, when)
        item.done.add(target)
    discard(rt.settings.staging_dir, item.sip_id)  # staging leftovers of the SIP
    with rt.sessions.begin() as session:
        envelope = destruction.tombstone_for(session, item, rt.signing_key)
    for target in item.targets:
        tombstones.write_to(rt.store(item.profile, target), envelope)
    with rt.sessions.begin() as session:
        destruction.finish_record(session, item, envelope)
