"""PREMIS ``validation`` events of check 3-4: one per validating tool, the tool and its version
as the event's agent, so the AIP's ``premis.xml`` names what proved each file opens."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.orm import Session

from preserve.catalog.events import EventType, Outcome, add_event, new_event
from preserve.catalog.models import Event
from preserve.ingest.checks import Result
from preserve.ingest.validation.result import Validation

_OUTCOMES = {
    Result.PASS: Outcome.SUCCESS,
    Result.WARN: Outcome.WARNING,
    Result.FAIL: Outcome.FAILURE,
}
SHOWN = 10


def summary(validations: list[Validation]) -> str:
    counts = {r: sum(v.outcome == r for v in validations) for r in Result}
    line = ", ".join(f"{counts[r]} {r.value}" for r in Result)
    bad = [v for v in validations if v.outcome != Result.PASS][:SHOWN]
    named = "; ".join(f"{v.path}: {v.outcome.value} {v.detail}" for v in bad)
    return f"check 3-4, {len(validations)} files: {line}" + (f"; {named}" if named else "")


def record_validation_events(
    session: Session,
    object_type: str,
    object_id: str,
    agency_id: int | None,
    validations: list[Validation],
) -> None:
    for event in validation_events(object_type, object_id, agency_id, validations):
        add_event(session, event)


def validation_events(
    object_type: str,
    object_id: str,
    agency_id: int | None,
    validations: list[Validation],
) -> list[Event]:
    """The events, not yet recorded (the worker stage makes them with no session open)."""
    by_tool: dict[str, list[Validation]] = defaultdict(list)
    for v in validations:
        by_tool[v.tool or "preserve (no validator for the format)"].append(v)
    events = []
    for tool, group in sorted(by_tool.items()):
        worst = max((v.outcome for v in group), key=[Result.PASS, Result.WARN, Result.FAIL].index)
        events.append(
            new_event(
                EventType.VALIDATION,
                _OUTCOMES[worst],
                object_type=object_type,
                object_id=object_id,
                agency_id=agency_id,
                detail=summary(group)[:4000],
                agent=tool[:200],
            )
        )
    return events
