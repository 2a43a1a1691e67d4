"""The edge of ``POST /v1/sips``: the units of work around :mod:`preserve.ingest.submit`.

Short transactions, none held while the body arrives or a bag is unpacked: the placement
(before a byte is read), a bag upload's lookup, then the checks and the registration,
committed after the files are fsynced and before the 202 is answered; a refused transfer is
recorded in a transaction of its own, after the one that refused it rolled back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from preserve.api.units import in_transaction, reading, run_in_transaction
from preserve.catalog.models import new_id
from preserve.errors import ChecksFailed
from preserve.ingest import submit
from preserve.ingest.checks import Report
from preserve.ingest.profile import IngestProfile, load_profile
from preserve.ingest.receive import UploadLimits
from preserve.ingest.staging import discard
from preserve.runtime import Runtime


async def submit_sip(
    rt: Runtime,
    agency_id: int,
    chunks: AsyncIterator[bytes],
    content_type: str,
    *,
    idempotency_key: str | None = None,
    content_digest: str | None = None,
    profile_override: str | None = None,
) -> submit.Submitted:
    """Receive, check and register one SIP. ``profile_override`` (an administrator's choice of
    storage profile for this SIP) is checked before a byte of the body is read."""
    sip_id, settings = new_id(), rt.settings
    limits = UploadLimits.of(settings)
    try:
        agency_name, placement = await reading(
            rt, submit.placement, rt.stores, agency_id, profile_override
        )
        profile = load_profile(settings.profiles_dir, agency_name)
        try:
            received = await submit.receive(
                settings.staging_dir, sip_id, chunks, content_type, content_digest, profile, limits
            )
        except ChecksFailed as exc:  # an unsafe path stops the receiving: on record all the same
            exc.extra["sip_id"] = sip_id
            refused = submit.Received("multipart")
            await _record_refusal(rt, agency_id, sip_id, exc, refused, placement)
            raise
        return await anyio.to_thread.run_sync(
            _register, rt, agency_id, sip_id, received, profile, idempotency_key, placement
        )
    finally:
        submit.clear_incoming(settings.staging_dir, sip_id)


def _register(
    rt: Runtime,
    agency_id: int,
    sip_id: str,
    received: submit.Received,
    profile: IngestProfile,
    key: str | None,
    placement: submit.Placement,
) -> submit.Submitted:
    staging = rt.settings.staging_dir
    try:
        if submit.names_bag_upload(received):  # unpacked between two transactions, not in one
            args = (staging, agency_id, sip_id, received)
            length = run_in_transaction(rt, submit.link_bag_upload, *args)
            submit.unpack_bag_upload(staging, sip_id, received, length, profile)
        submit.keep_durably(staging, sip_id, received)
        return run_in_transaction(
            rt,
            submit.check_and_register,
            staging,
            agency_id,
            sip_id,
            received,
            profile,
            key,
            placement,
        )
    except ChecksFailed as exc:
        discard(staging, sip_id)
        report = Report.from_list(exc.report)
        run_in_transaction(
            rt, submit.record_refusal, agency_id, sip_id, report, received, placement
        )
        raise
    except DbIntegrityError:
        discard(staging, sip_id)
        if key is None:
            raise
        return run_in_transaction(rt, submit.answer_race, agency_id, key)
    except BaseException:
        discard(staging, sip_id)
        raise


async def _record_refusal(
    rt: Runtime,
    agency_id: int,
    sip_id: str,
    exc: ChecksFailed,
    received: submit.Received,
    placement: submit.Placement,
) -> None:
    report = Report.from_list(exc.report)
    await in_transaction(rt, submit.record_refusal, agency_id, sip_id, report, received, placement)
