"""Every step of opening review is a PREMIS event in the hash-chained log, on the record.

PREMIS event types (id.loc.gov vocabulary): ``appraisal`` for a proposal and for the
confidentiality review (保密审查), ``policy assignment`` for a change of access status
(approval, declassification, withdrawal), ``dissemination`` for a published catalogue and
``metadata extraction`` for the full text taken from an open record.
"""

from __future__ import annotations

import enum

from sqlalchemy.orm import Session

from preserve.catalog.events import Outcome, record_event
from preserve.catalog.models import Aip


class OpeningEvent(enum.StrEnum):
    APPRAISAL = "appraisal"
    POLICY_ASSIGNMENT = "policy assignment"
    DISSEMINATION = "dissemination"
    METADATA_EXTRACTION = "metadata extraction"


def on_record(
    session: Session,
    aip: Aip,
    type: OpeningEvent,
    detail: str,
    agent: str,
    outcome: Outcome = Outcome.SUCCESS,
) -> None:
    record_event(
        session,
        type,  # type: ignore[arg-type]  # a PREMIS label like EventType's, used by value
        outcome,
        object_type="aip",
        object_id=aip.id,
        detail=detail[:4000],
        agent=agent[:200],
        agency_id=aip.agency_id,
    )


def on_catalogue(session: Session, catalogue_id: str, detail: str, agent: str) -> None:
    record_event(
        session,
        OpeningEvent.DISSEMINATION,  # type: ignore[arg-type]
        Outcome.SUCCESS,
        object_type="catalogue",
        object_id=catalogue_id,
        detail=detail[:4000],
        agent=agent[:200],
    )
