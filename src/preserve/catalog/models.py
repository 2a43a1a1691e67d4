"""The catalogue: an index over the stores (DESIGN.md principle 1), never the only copy."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from preserve.catalog.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def new_id() -> str:
    return str(uuid.uuid4())


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Role(enum.StrEnum):
    SUBMITTER = "submitter"
    OFFICER = "officer"
    OPS = "ops"
    ADMIN = "admin"


class SipState(enum.StrEnum):
    RECEIVED = "RECEIVED"
    VALIDATED = "VALIDATED"
    REJECTED = "REJECTED"
    STORED = "STORED"
    PRESERVED = "PRESERVED"


class ReplicaState(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class Agency(Base):
    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    storage_profile: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Token(Base):
    """An API token; only its SHA-256 is stored, the prefix lets an admin tell tokens apart."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    role: Mapped[Role] = mapped_column(_enum(Role))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    agency: Mapped[Agency] = relationship(lazy="joined")


class Sip(Base):
    __tablename__ = "sips"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    state: Mapped[SipState] = mapped_column(_enum(SipState), default=SipState.RECEIVED)
    storage_profile: Mapped[str] = mapped_column(String(200))
    record_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    manifest: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    aip_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    agency: Mapped[Agency] = relationship(lazy="joined")


class Aip(Base):
    __tablename__ = "aips"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sip_id: Mapped[str] = mapped_column(ForeignKey("sips.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    storage_profile: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    archival_code: Mapped[str] = mapped_column(String(200), index=True)
    record_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    signing_key_id: Mapped[str] = mapped_column(String(64))
    tagmanifest_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    files: Mapped[list[File]] = relationship(
        back_populates="aip", order_by="File.path", cascade="all, delete-orphan"
    )
    replicas: Mapped[list[Replica]] = relationship(
        back_populates="aip", order_by="Replica.target", cascade="all, delete-orphan"
    )
    agency: Mapped[Agency] = relationship(lazy="joined")


class File(Base):
    """One payload file of an AIP; ``path`` is relative to the bag's ``data/``."""

    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("aip_id", "path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aip_id: Mapped[str] = mapped_column(ForeignKey("aips.id"))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sha512: Mapped[str] = mapped_column(String(128))
    puid: Mapped[str | None] = mapped_column(String(64))
    format_name: Mapped[str | None] = mapped_column(Text)
    format_method: Mapped[str | None] = mapped_column(String(32))
    aip: Mapped[Aip] = relationship(back_populates="files")


class Replica(Base):
    """One copy of an AIP on one target. A copy counts toward the policy only once verified."""

    __tablename__ = "replicas"
    __table_args__ = (UniqueConstraint("aip_id", "target"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aip_id: Mapped[str] = mapped_column(ForeignKey("aips.id"))
    target: Mapped[str] = mapped_column(String(63))
    state: Mapped[ReplicaState] = mapped_column(_enum(ReplicaState), default=ReplicaState.PENDING)
    verified_at: Mapped[datetime | None]
    last_audit_at: Mapped[datetime | None]
    last_audit_outcome: Mapped[str | None] = mapped_column(String(32))
    aip: Mapped[Aip] = relationship(back_populates="replicas")


class Event(Base):
    """A PREMIS-style event: what happened to which object, when, by whom, with what outcome."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    type: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    agent: Mapped[str] = mapped_column(String(200))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    target: Mapped[str | None] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Job(Base):
    """A durable unit of background work, enqueued in the transaction that causes it."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "state", "run_after"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[JobState] = mapped_column(_enum(JobState), default=JobState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
