"""Catalogue rows written directly, for tests of lists, search and statistics that need many
records and not the ingest pipeline (the ORM hooks derive the finding aids as ingest's do)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from preserve.catalog.models import Agency, Aip, File, Replica, ReplicaState, Sip, SipState

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


def agency(session, name: str) -> Agency:
    found = session.scalar(select(Agency).where(Agency.name == name))
    if found is None:
        found = Agency(name=name)
        session.add(found)
        session.flush()
    return found


def add_record(
    session,
    agency_name: str = "agency-a",
    *,
    n: int = 0,
    state: SipState = SipState.PRESERVED,
    puid: str = "fmt/276",
    targets: tuple[str, ...] = ("site-a-disk",),
    fixity: str | None = None,
    **meta: Any,
) -> Aip | Sip:
    """A SIP and (unless it is not stored) its AIP, ingested ``n`` minutes after BASE_TIME."""
    owner = agency(session, agency_name)
    doc = {
        "title": f"Record {n}",
        "creator": "Records Office",
        "date": "2024-03-01",
        "retention": "permanent",
        "archival_code": f"A001-WS-2024-Y-{n:04d}",
        **meta,
    }
    when = BASE_TIME + timedelta(minutes=n)
    sip = Sip(
        id=str(uuid.uuid4()),
        agency_id=owner.id,
        state=state,
        storage_profile="local",
        record_metadata=doc,
        file_count=1,
        total_bytes=100 + n,
        received_at=when,
    )
    session.add(sip)
    session.flush()
    if state not in (SipState.STORED, SipState.PRESERVED):
        return sip
    aip = Aip(
        sip_id=sip.id,
        agency_id=owner.id,
        storage_profile="local",
        title=str(doc["title"]),
        archival_code=str(doc["archival_code"]),
        record_metadata=doc,
        file_count=1,
        total_bytes=100 + n,
        signing_key_id="k",
        tagmanifest_sha256="0" * 64,
        created_at=when,
    )
    aip.files.append(File(path="a.pdf", size=100 + n, sha256="0" * 64, sha512="0" * 128, puid=puid))
    for target in targets:
        aip.replicas.append(
            Replica(target=target, state=ReplicaState.VERIFIED, last_audit_outcome=fixity)
        )
    session.add(aip)
    session.flush()
    sip.aip_id = aip.id
    return aip
