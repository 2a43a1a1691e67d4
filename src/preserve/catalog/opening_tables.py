"""The opening of records to the public (preserve.opening): access status, reviews, and the
public catalogue's own tables.

The public face (preserve.api.public) reads only ``public_records`` (and the files and copies
of the AIPs it names): a record is there only while it is open, so what the public can see is
decided by one row, written when a second person approves an opening and deleted when the
record is withdrawn. A read-only database role needs SELECT on that table, ``public_texts``,
``published_catalogues``, ``aips``, ``files`` and ``replicas`` only.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from preserve.catalog.models import Base, _enum, new_id
from preserve.catalog.types import utcnow


class AccessStatus(enum.StrEnum):
    CONTROLLED = "controlled"  # 控制使用: the default of every record
    OPEN = "open"  # 开放
    RESTRICTED = "restricted"  # 限制


class OpeningState(enum.StrEnum):
    PROPOSED = "proposed"  # waiting for the confidentiality review (保密审查)
    REVIEW_FAILED = "review_failed"  # the security officer refused it: it can never be approved
    REVIEWED = "reviewed"  # the review passed: waiting for a second person's approval
    APPROVED = "approved"


class RecordAccess(Base):
    """A record's access status; a record without a row is controlled."""

    __tablename__ = "record_access"
    aip_id: Mapped[str] = mapped_column(ForeignKey("aips.id"), primary_key=True)
    status: Mapped[AccessStatus] = mapped_column(_enum(AccessStatus))
    until: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    opening_id: Mapped[str | None] = mapped_column(String(36))
    declassified_at: Mapped[datetime | None]
    declassification_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Opening(Base):
    """One opening review: an officer's decisions, the security officer's review, an approval."""

    __tablename__ = "openings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    state: Mapped[OpeningState] = mapped_column(_enum(OpeningState), index=True)
    proposer_token_id: Mapped[int] = mapped_column(Integer)
    proposer: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer_token_id: Mapped[int | None] = mapped_column(Integer)
    reviewer: Mapped[str | None] = mapped_column(String(200))
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    approver_token_id: Mapped[int | None] = mapped_column(Integer)
    approver: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]


class OpeningDecision(Base):
    __tablename__ = "opening_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opening_id: Mapped[str] = mapped_column(ForeignKey("openings.id"), index=True)
    aip_id: Mapped[str] = mapped_column(ForeignKey("aips.id"), index=True)
    decision: Mapped[AccessStatus] = mapped_column(_enum(AccessStatus))
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[date | None] = mapped_column(Date)


class PublicRecord(Base):
    """An open record as the public sees it: only the publishable fields, copied when it opened.

    ``id`` is the AIP id; ``search_text`` holds the publishable fields and the extracted full
    text, searched like the holdings (preserve.access.holdings.search) with its own text index.
    """

    __tablename__ = "public_records"
    __table_args__ = (Index("ix_public_records_opened", "opened_at", "id"),)
    id: Mapped[str] = mapped_column(ForeignKey("aips.id"), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")


class PublicText(Base):
    """The text layer of one open file (full-text reading and the passage a search shows)."""

    __tablename__ = "public_texts"
    aip_id: Mapped[str] = mapped_column(ForeignKey("public_records.id"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")


class PublishedCatalogue(Base):
    """One issue of the open-records catalogue (开放档案目录): a signed JSON document."""

    __tablename__ = "published_catalogues"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    record_count: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
