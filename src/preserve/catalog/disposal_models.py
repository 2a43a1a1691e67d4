"""The disposal tables (preserve.disposal): appraisal batches and their decisions, holds, and
the tombstones of destroyed records. Tombstones are kept for good (the destruction list,
销毁清册, is kept permanently); the stores keep a signed copy of each one as well."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from preserve.catalog.models import ARCHIVAL_CODE, Base, new_id
from preserve.catalog.types import utcnow


class Appraisal(Base):
    """A batch of appraisal decisions: proposed by an officer, approved or rejected by a
    second person. ``state``: proposed, approved, destroying, done, rejected."""

    __tablename__ = "appraisals"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    state: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    kind: Mapped[str] = mapped_column(String(16), default="appraisal")
    note: Mapped[str] = mapped_column(Text, default="")
    proposer: Mapped[str] = mapped_column(String(200))
    proposer_token: Mapped[int] = mapped_column(Integer)
    proposer_role: Mapped[str] = mapped_column(String(32))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    approver: Mapped[str | None] = mapped_column(String(200))
    approver_token: Mapped[int | None] = mapped_column(Integer)
    approver_role: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    decisions: Mapped[list[AppraisalDecision]] = relationship(
        back_populates="appraisal", order_by="AppraisalDecision.id", cascade="all, delete-orphan"
    )


class AppraisalDecision(Base):
    """One record's decision in a batch. ``outcome``: pending, applied (extend/permanent),
    held, destroying, destroyed, refused (a target would not delete)."""

    __tablename__ = "appraisal_decisions"
    __table_args__ = (Index("ix_appraisal_decisions_aip", "aip_id", "outcome"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appraisal_id: Mapped[str] = mapped_column(ForeignKey("appraisals.id"))
    aip_id: Mapped[str] = mapped_column(String(36))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    retention: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    # What the record was when it was appraised, for the destruction list.
    agency_id: Mapped[int] = mapped_column(Integer)
    archival_code: Mapped[str] = mapped_column(ARCHIVAL_CODE)
    title: Mapped[str] = mapped_column(Text)
    old_retention: Mapped[str | None] = mapped_column(String(32))
    # The targets to delete from, and when each was proven empty: {target: iso time}.
    targets: Mapped[list[Any]] = mapped_column(default=list)
    deletions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    problem: Mapped[str | None] = mapped_column(Text)
    appraisal: Mapped[Appraisal] = relationship(back_populates="decisions")


class Hold(Base):
    """A legal or administrative hold on a record, a fonds or an agency (``scope``)."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_open", "released_at", "scope", "value"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None]


class Tombstone(Base):
    """What is kept of a destroyed record: its description, digests, the batch and its
    approvals, and when each target was proven empty; ``document`` is the signed JSON that
    every store keeps too (``disposal/tombstones/<aip_id>.json``)."""

    __tablename__ = "tombstones"
    __table_args__ = (Index("ix_tombstones_batch", "appraisal_id", "destroyed_at"),)
    aip_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    agency: Mapped[str] = mapped_column(String(200))
    appraisal_id: Mapped[str] = mapped_column(String(36))
    archival_code: Mapped[str] = mapped_column(ARCHIVAL_CODE)
    title: Mapped[str] = mapped_column(Text)
    retention: Mapped[str | None] = mapped_column(String(32))
    record_date: Mapped[str | None] = mapped_column(String(10))
    fonds: Mapped[str | None] = mapped_column(String(100))
    year: Mapped[str | None] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    destroyed_at: Mapped[datetime] = mapped_column(default=utcnow)
    document: Mapped[dict[str, Any]] = mapped_column()
