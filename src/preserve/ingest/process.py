"""Ingest, the worker stage: identify formats, probe for encryption, scan for viruses; then
reject the SIP, or package it as a signed AIP bag with its report and receipt and queue it for
storage.

The file work (identification over a pool of processes, the scans, writing and signing the bag)
holds no transaction. The job handler (:mod:`preserve.jobs.tasks.ingest`) drives three steps:

1. :func:`plan` reads what the work needs, in one short transaction;
2. :func:`check` and then :func:`preserve.ingest.package.package` do the work, with no session;
   the events they describe are made but not yet recorded;
3. :func:`record` writes the outcome, those events among it, in one transaction.

A crash between 1 and 3 leaves the SIP RECEIVED with nothing recorded, and the job runs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from preserve.catalog.db import after_commit
from preserve.catalog.events import EventType, Outcome, add_event, new_event
from preserve.catalog.models import Event, Sip, SipState
from preserve.catalog.queue import enqueue
from preserve.catalog.repository import events_for
from preserve.ingest import repository
from preserve.ingest.checks import Report, reasons
from preserve.ingest.formats import Identification
from preserve.ingest.inspect import inspect_many
from preserve.ingest.package import Packaged, aip_row, file_rows
from preserve.ingest.profile import IngestProfile
from preserve.ingest.service import record_rejection
from preserve.ingest.staging import StagedFile, bag_dir, discard
from preserve.ingest.validation import Item, Validation, validate_many
from preserve.ingest.validation.events import validation_events
from preserve.ingest.worker_checks import format_checks, validation_checks, virus_checks

_OUTCOMES = {"pass": Outcome.SUCCESS, "warn": Outcome.WARNING, "fail": Outcome.FAILURE}


@dataclass(frozen=True)
class SipPlan:
    """What the worker stage reads from the catalogue, as plain values."""

    sip_id: str
    agency_id: int
    agency_name: str
    profile_ref: str
    metadata: dict[str, Any]
    manifest: list[dict[str, Any]]
    received_at: datetime
    source: str
    report: list[dict[str, Any]]
    events: list[Event]  # the SIP's events so far, in order (detached rows)

    @property
    def files(self) -> list[StagedFile]:
        return [StagedFile(**f) for f in self.manifest]


@dataclass(frozen=True)
class Checked:
    """The worker's checks: the whole report, what was identified, the events to record."""

    report: Report
    identifications: list[Identification]
    validations: list[Validation]
    events: list[Event]  # not yet in any session


def plan(session: Session, sip_id: str) -> SipPlan | None:
    """The SIP to process, or None when it is gone or no longer waits (RECEIVED)."""
    sip = repository.received_sip(session, sip_id)
    if sip is None:
        return None
    return SipPlan(
        sip_id=sip.id,
        agency_id=sip.agency_id,
        agency_name=sip.agency.name,
        profile_ref=sip.storage_profile,
        metadata=dict(sip.record_metadata),
        manifest=list(sip.manifest),
        received_at=sip.received_at,
        source=sip.source,
        report=list(sip.check_report or []),
        events=list(events_for(session, "sip", sip_id)),
    )


def check(plan: SipPlan, staging_dir: Path, profile: IngestProfile, workers: int) -> Checked:
    """Every payload file identified and probed, validated (each in ``workers`` processes) and
    scanned; the receiving stage's report completed with these checks."""
    root = bag_dir(staging_dir, plan.sip_id)
    items = [(root / "data" / f.path, f.path) for f in plan.files]
    inspections = inspect_many(items, workers=workers, engines=profile.identification_engines)
    identifications = [i.identification for i in inspections]
    report = Report.from_list(plan.report)
    report.extend(format_checks(inspections, profile))
    validations = validate_staged(items, identifications, profile, workers)
    report.extend(validation_checks(validations, profile))
    report.extend(virus_checks(items, profile))
    events = _check_events(plan, report, identifications)
    events += validation_events("sip", plan.sip_id, plan.agency_id, validations)
    return Checked(report, identifications, validations, events)


def validate_staged(
    items: list[tuple[Path, str]],
    identifications: list[Identification],
    profile: IngestProfile,
    workers: int,
) -> list[Validation]:
    """Check 3-4 over the staged payload, each file by the validator of its identified format."""
    to_check = [
        Item(path, shown, ident.puid, ident.matches[0].mime if ident.matches else None)
        for (path, shown), ident in zip(items, identifications, strict=True)
    ]
    return validate_many(to_check, profile.validation.limits, workers=workers)


def record(
    session: Session,
    plan: SipPlan,
    checked: Checked,
    packaged: Packaged | None,
    staging_dir: Path,
) -> None:
    """The outcome on record: the checks' events, then the rejection, or the AIP queued for
    storage. ``packaged`` is None exactly when the checks failed."""
    sip = repository.received_sip(session, plan.sip_id)
    if sip is None:
        return
    for event in checked.events:
        add_event(session, event)
    if packaged is None:
        _reject(session, sip, checked.report, staging_dir)
    else:
        _accept(session, sip, plan, checked, packaged)


def _reject(session: Session, sip: Sip, report: Report, staging_dir: Path) -> None:
    sip.state = SipState.REJECTED
    sip.reasons = reasons(report.failures)
    sip.check_report = report.to_list()
    record_rejection(session, sip, report, "preserve")
    sip_id = sip.id
    after_commit(session, lambda: discard(staging_dir, sip_id))


def _accept(
    session: Session, sip: Sip, plan: SipPlan, checked: Checked, packaged: Packaged
) -> None:
    aip = aip_row(plan, packaged)
    session.add(aip)
    session.flush()
    repository.insert_files(
        session,
        file_rows(plan, checked.identifications, packaged.aip_id, checked.validations),
    )
    session.expire(aip, ["files"])
    sip.state = SipState.VALIDATED
    sip.aip_id = aip.id
    sip.check_report = checked.report.to_list()
    sip.receipt = packaged.receipt
    add_event(
        session,
        new_event(
            EventType.DIGITAL_SIGNATURE_GENERATION,
            Outcome.SUCCESS,
            object_type="aip",
            object_id=aip.id,
            agency_id=sip.agency_id,
            detail=f"tag manifest and receipt signed with key {packaged.key_id}",
        ),
    )
    enqueue(session, "storage.store", {"aip_id": aip.id}, dedupe_key=f"store:{aip.id}")


def _check_events(
    plan: SipPlan, report: Report, identifications: list[Identification]
) -> list[Event]:
    """Format identification, the virus check (when one ran) and the validation summary."""
    on_sip = {"object_type": "sip", "object_id": plan.sip_id, "agency_id": plan.agency_id}
    events = [_identification_event(identifications, on_sip)]
    virus = [c for c in report.checks if c.code == "4-2"]
    if virus:
        events.append(
            new_event(
                EventType.VIRUS_CHECK,
                _OUTCOMES[report.outcome_of("4-2") or "pass"],
                detail="; ".join(c.detail for c in virus)[:4000],
                agent="clamd",
                **on_sip,
            )
        )
    failed, warned = report.failures, report.warnings
    events.append(
        new_event(
            EventType.VALIDATION,
            Outcome.FAILURE if failed else Outcome.WARNING if warned else Outcome.SUCCESS,
            detail=f"four-property checks: {len(report.checks)} items, {len(failed)} failed, "
            f"{len(warned)} warnings",
            **on_sip,
        )
    )
    return events


def _agent(tools: list[str]) -> str:
    """The tools by name and version (``siegfried 1.11.9 + fido 1.6.1 + ...``), short enough for
    the event's agent; their signature files are in the detail."""
    names = dict.fromkeys(part.split(" (")[0] for tool in tools for part in tool.split(" + "))
    return " + ".join(names)[:200] or "fido"


def _identification_event(identifications: list[Identification], on_sip: dict) -> Event:
    """One PREMIS event: the registries and tools that answered, the files left unidentified
    and every disagreement between the engines (the detail is capped, the count is not)."""
    unidentified = [i.path for i in identifications if i.puid is None]
    registries = sorted({i.registry for i in identifications})
    tools = list(dict.fromkeys(i.tool for i in identifications))
    detail = f"{len(identifications)} files identified with {', '.join(registries)}"
    detail += f" by {'; '.join(tools)}"
    if unidentified:
        detail += f"; no format found for: {', '.join(unidentified[:20])}"
    disagreed = [f"{i.path}: {i.disagreement}" for i in identifications if i.disagreement]
    if disagreed:
        detail += f"; the engines disagree on {len(disagreed)} files: " + "; ".join(disagreed)
    return new_event(
        EventType.FORMAT_IDENTIFICATION,
        Outcome.WARNING if unidentified or disagreed else Outcome.SUCCESS,
        detail=detail[:4000],
        agent=_agent(tools),
        **on_sip,
    )
