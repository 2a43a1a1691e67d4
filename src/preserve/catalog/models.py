"""The catalogue: an index over the stores (docs/architecture.md, principle 1), never the
only copy."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from preserve.catalog import search_index
from preserve.catalog.types import UTCDateTime, utcnow

# Archival codes compare by code point on both databases (SQLite's BINARY; "C" on PostgreSQL,
# whatever the database's collation), so a code prefix is an index range: p <= code < p'.
_SIZES = ("file_count", "total_bytes")
ARCHIVAL_CODE = String(200).with_variant(String(200, collation="C"), "postgresql")

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


def _size_of_aip(column: str):
    """A replica's default ``file_count``/``total_bytes``: its AIP's, read as the row is
    inserted. An AIP never changes size, so the copy carries it and holdings per target are
    summed from one index of ``replicas`` instead of a join over every AIP."""

    def default(context) -> int:
        aip_id = context.get_current_parameters()["aip_id"]
        aips = Base.metadata.tables["aips"]
        return context.connection.scalar(select(aips.c[column]).where(aips.c.id == aip_id))

    return default


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Role(enum.StrEnum):
    SUBMITTER = "submitter"
    OFFICER = "officer"
    OPS = "ops"
    ADMIN = "admin"
    # 三员分立 (preserve.trust.duties): admin is the system administrator (系统管理员),
    # security the security officer (安全保密员), auditor the security auditor (安全审计员).
    SECURITY = "security"
    AUDITOR = "auditor"
    # Approves appraisal batches (preserve.disposal): never the officer who proposed them.
    APPRAISER = "appraiser"


class SipState(enum.StrEnum):
    RECEIVED = "RECEIVED"
    VALIDATED = "VALIDATED"
    REJECTED = "REJECTED"
    STORED = "STORED"
    PRESERVED = "PRESERVED"
    AT_RISK = "AT_RISK"  # was PRESERVED; the policy no longer holds over verified replicas


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
    """An API token; only its SHA-256 is stored. ``prefix`` holds its public id (``tok_`` and
    the digest's first hex digits), which lets an admin tell tokens apart."""

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
    # Ingest checks (preserve.ingest.checks): how the SIP came in, the four-property report, the
    # signed receipt once accepted, and the agency's Idempotency-Key with the content it named.
    source: Mapped[str] = mapped_column(String(16), default="multipart", server_default="multipart")
    check_report: Mapped[list[Any]] = mapped_column(JSON, default=list)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # Finding aids derived from record_metadata on every write (preserve.catalog.search_index).
    title: Mapped[str | None] = mapped_column(Text)
    archival_code: Mapped[str | None] = mapped_column(ARCHIVAL_CODE)
    fonds: Mapped[str | None] = mapped_column(String(100))
    year: Mapped[str | None] = mapped_column(String(16))
    retention: Mapped[str | None] = mapped_column(String(32))
    record_date: Mapped[str | None] = mapped_column(String(10))
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    agency: Mapped[Agency] = relationship(lazy="joined")
    __table_args__ = (
        UniqueConstraint("agency_id", "idempotency_key"),
        Index("ix_sips_received", "received_at", "id"),
        Index("ix_sips_code", "archival_code", "id"),
        Index("ix_sips_fonds_year", "fonds", "year", "received_at", "id"),
        Index("ix_sips_state", "state", "received_at", "id", *_SIZES),
    )


class Upload(Base):
    """A resumable upload (tus 1.0 core): bytes arrive at offsets until ``offset == length``;
    a finished upload is then named in a SIP, which takes its file (preserve.ingest.uploads)."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    upload_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sha256: Mapped[str | None] = mapped_column(String(64))
    sha512: Mapped[str | None] = mapped_column(String(128))
    sip_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime]


class Aip(Base):
    __tablename__ = "aips"
    __table_args__ = (
        # Each filter's index ends with the default sort key (created_at, id), so a filtered
        # page is read in order and stops after one page (preserve.access.holdings.queries);
        # file_count and total_bytes make them cover statistics by their first column.
        Index("ix_aips_created", "created_at", "id"),
        Index("ix_aips_code", "archival_code", "id", "created_at"),
        Index("ix_aips_agency_created", "agency_id", "created_at", "id", *_SIZES),
        Index("ix_aips_fonds_year", "fonds", "year", "created_at", "id", *_SIZES),
        Index("ix_aips_year", "year", "created_at", "id", *_SIZES),
        Index("ix_aips_retention", "retention", "created_at", "id", *_SIZES),
        Index("ix_aips_record_date", "record_date", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sip_id: Mapped[str] = mapped_column(ForeignKey("sips.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    storage_profile: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    archival_code: Mapped[str] = mapped_column(ARCHIVAL_CODE, index=True)
    record_metadata: Mapped[dict[str, Any]] = mapped_column(JSON)
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    signing_key_id: Mapped[str] = mapped_column(String(64))
    tagmanifest_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Finding aids derived from record_metadata on every write (preserve.catalog.search_index).
    fonds: Mapped[str | None] = mapped_column(String(100))
    year: Mapped[str | None] = mapped_column(String(16))
    retention: Mapped[str | None] = mapped_column(String(32))
    record_date: Mapped[str | None] = mapped_column(String(10))
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
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
    __table_args__ = (
        UniqueConstraint("aip_id", "path"),
        Index("ix_files_puid", "puid", "aip_id", "size"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aip_id: Mapped[str] = mapped_column(ForeignKey("aips.id"))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sha512: Mapped[str] = mapped_column(String(128))
    puid: Mapped[str | None] = mapped_column(String(64))
    format_name: Mapped[str | None] = mapped_column(Text)
    format_method: Mapped[str | None] = mapped_column(String(32))
    validation: Mapped[str | None] = mapped_column(String(8))  # check 3-4: pass, warn, fail
    validation_detail: Mapped[str | None] = mapped_column(Text)
    aip: Mapped[Aip] = relationship(back_populates="files")


class Replica(Base):
    """One copy of an AIP on one target. A copy counts toward the policy only once verified."""

    __tablename__ = "replicas"
    __table_args__ = (
        UniqueConstraint("aip_id", "target"),
        Index("ix_replicas_next_audit", "target", "next_audit_at"),
        Index("ix_replicas_audit_due", "target", "audit_due_at"),
        Index("ix_replicas_holdings", "state", "target", *_SIZES),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aip_id: Mapped[str] = mapped_column(ForeignKey("aips.id"))
    target: Mapped[str] = mapped_column(String(63))
    state: Mapped[ReplicaState] = mapped_column(_enum(ReplicaState), default=ReplicaState.PENDING)
    verified_at: Mapped[datetime | None]
    last_audit_at: Mapped[datetime | None]
    last_audit_outcome: Mapped[str | None] = mapped_column(String(32))
    # The fixity schedule (preserve.audit.schedule): the due time of the current cycle, when the
    # scheduler looks at the replica next, and a pending restore request on a cold target.
    audit_due_at: Mapped[datetime | None]
    next_audit_at: Mapped[datetime | None]
    restore_requested_at: Mapped[datetime | None]
    file_count: Mapped[int] = mapped_column(Integer, default=_size_of_aip("file_count"))
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=_size_of_aip("total_bytes"))
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
    # The hash chain (preserve.catalog.chain): position, the previous entry's hash and this one's.
    # Set when the recording transaction commits; a row without them was not recorded through
    # record_event and fails `preserve verify log`.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class LogHead(Base):
    """The tip of the event chain (one row, id 1). Every append locks it, so two writers never
    fork the chain, and it remembers the tip even if the newest events are deleted."""

    __tablename__ = "log_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogCheckpoint(Base):
    """A signed checkpoint of the event chain, as written to every store."""

    __tablename__ = "log_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq_from: Mapped[int] = mapped_column(BigInteger)
    seq_to: Mapped[int] = mapped_column(BigInteger, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    document: Mapped[str] = mapped_column(Text)
    stored_on: Mapped[list[Any]] = mapped_column(JSON, default=list)


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
    # The store a job needs ("target:<name>"): while it is in an Outage, its jobs wait.
    resource: Mapped[str | None] = mapped_column(String(100), index=True)
    # Times the job was put back waiting for a store; unlike attempts, never makes it dead.
    waits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Outage(Base):
    """A store that is down: the jobs that need it wait until ``retry_after``, so one target's
    outage delays only its own copies and costs one probe per backoff, not one per job."""

    __tablename__ = "outages"
    resource: Mapped[str] = mapped_column(String(100), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    retry_after: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer, default=1)
    last_error: Mapped[str | None] = mapped_column(Text)


class FixityCheck(Base):
    """One audit of one replica (the PREMIS event is the evidence; this row is the index).

    A failed check carries its resolution: pending, repaired, unrepairable, or resolved (a later
    check of the same replica came back ok without a repair).
    """

    __tablename__ = "fixity_checks"
    __table_args__ = (
        Index("ix_fixity_checks_time", "checked_at"),
        Index("ix_fixity_checks_target_time", "target", "checked_at", "aip_id"),
        Index("ix_fixity_checks_replica", "aip_id", "target"),
        Index("ix_fixity_checks_resolution", "resolution"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aip_id: Mapped[str] = mapped_column(String(36))
    target: Mapped[str] = mapped_column(String(63))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(32))
    files_checked: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None]
    repair_source: Mapped[str | None] = mapped_column(String(63))


class FixityDaily(Base):
    """Checks per target and UTC day, kept as running counts so /metrics never scans history."""

    __tablename__ = "fixity_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    target: Mapped[str] = mapped_column(String(63), primary_key=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    repairs: Mapped[int] = mapped_column(Integer, default=0)


class Alert(Base):
    """Something an operator must act on (a replica that no good copy can repair, ...)."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    severity: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    aip_id: Mapped[str | None] = mapped_column(String(36))
    target: Mapped[str | None] = mapped_column(String(63))
    detail: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None]
    delivery_error: Mapped[str | None] = mapped_column(Text)


class SchedulerTask(Base):
    """When each periodic task last ran, so that two workers never run it twice in a period."""

    __tablename__ = "scheduler_tasks"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[datetime | None]


class AuditPacing(Base):
    """Per target, until when audit reads are already planned (the bandwidth budget's cursor)."""

    __tablename__ = "audit_pacing"
    target: Mapped[str] = mapped_column(String(63), primary_key=True)
    paced_until: Mapped[datetime] = mapped_column(default=utcnow)


class DashboardSnapshot(Base):
    """The officer dashboard's counts as the scheduler last took them (preserve.audit.dashboard):
    counting every replica takes too long with many AIPs to do at each page view."""

    __tablename__ = "dashboard_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(index=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)


class ConsoleSession(Base):
    """A signed-in web console session (``preserve.trust.sessions``). Only the SHA-256 of the
    session id is kept, like a token's: a copy of this table signs no one in. The role and
    agency come from the token at every request, so revoking the token ends the session."""

    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    token: Mapped[Token] = relationship(lazy="joined")


search_index.install(Sip, Aip)

# The disposal and opening tables live in their own modules; importing them puts them on
# Base.metadata.
from preserve.catalog import disposal_models as _disposal_models  # noqa: E402, F401
from preserve.catalog import opening_tables as _opening_tables  # noqa: E402, F401
