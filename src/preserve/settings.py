"""Settings, read from ``PRESERVE_*`` environment variables (and an optional ``.env``).

The defaults run everything on one machine: the data directory (``PRESERVE_DATA_DIR``, else
``$XDG_DATA_HOME/preserve``, else ``~/.local/share/preserve``) holds staging, keys and the SQLite
catalogue, and the ``local`` profile shipped in the package puts two filesystem stores under
``<data_dir>/stores/``. Every command finds the data directory the same way, whatever the
current directory. No secret has a default.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SHIPPED_PROFILES = Path(str(files("preserve._shipped") / "storage_profiles"))


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "preserve"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRESERVE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Staging, keys, the SQLite file; relative store roots resolve against it.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to SQLite at <data_dir>/preserve.db."
    )
    storage_profile: str = Field(
        default="local", description="Default profile: a path, or a name under profiles_dir."
    )
    profiles_dir: Path = Field(
        default=SHIPPED_PROFILES, description="Storage profiles; by default those shipped."
    )
    max_file_bytes: int = Field(default=64 * 1024**3, ge=1)
    max_files_per_sip: int = Field(default=100_000, ge=1)
    max_tag_file_bytes: int = Field(
        default=256 * 1024, ge=1024, description="One tag file of a bag (bag-info.txt, ...)."
    )
    max_manifest_bytes: int = Field(
        default=32 * 1024**2, ge=1024, description="One manifest or tag manifest of a bag."
    )
    max_metadata_value_bytes: int = Field(
        default=256 * 1024, ge=64, description="One metadata value (JSON or bag-info.txt)."
    )
    max_unpack_ratio: float = Field(
        default=20,
        ge=1,
        description="Bytes unpacked from an archive per byte received (gzip, zip), at most.",
    )
    body_idle_timeout_seconds: float = Field(
        default=30, gt=0, description="A request body that sends nothing this long is cut off."
    )
    body_min_bytes_per_second: float = Field(
        default=1024,
        ge=0,
        description="A body slower than this on average, past the idle timeout, is cut off.",
    )
    max_concurrent_uploads_per_token: int = Field(
        default=4, ge=1, description="Bodies (SIPs, PATCHes) one token may send at once."
    )
    identify_workers: int = Field(default=2, ge=1)
    worker_poll_seconds: float = Field(default=0.2, gt=0)
    job_lease_seconds: int = Field(
        default=30, ge=5, description="A running job's lease, renewed every third of it."
    )
    job_max_attempts: int = Field(default=8, ge=1)
    storage_retry_max_seconds: float = Field(
        default=300, gt=0, description="A store that is down is probed at least this often."
    )
    key_passphrase: str | None = Field(
        default=None, description="Encrypts the archive's private key at rest when set."
    )
    audit_tick_seconds: float = Field(
        default=60, gt=0, description="How often the scheduler plans fixity audits."
    )
    audit_bandwidth_mb_s: float = Field(
        default=100, gt=0, description="Read budget of scheduled audits per target (MB/s)."
    )
    audit_bandwidth_mb_s_per_target: dict[str, float] = Field(
        default_factory=dict, description='Per-target budgets, JSON: {"cold-c": 5}.'
    )
    audit_cold_sample_share: float = Field(
        default=0.05, gt=0, le=1, description="Share of a cold target's replicas per interval."
    )
    dashboard_snapshot_seconds: float = Field(
        default=60, gt=0, description="How often the scheduler recounts the officer's dashboard."
    )
    audit_overdue_grace_hours: float = Field(
        default=24, ge=0, description="A replica is overdue this long after its due time."
    )
    audit_workers: int = Field(default=1, ge=1, description="Threads hashing one replica.")
    audit_every_payload_digest: bool = Field(
        default=False,
        description="Re-hash the payload with sha512 too (it is proven via the tag manifests).",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="JSON lines, text, or auto (text on a terminal)."
    )
    log_level: str = Field(default="INFO", description="The lowest level logged.")
    alert_webhook_url: str | None = Field(
        default=None, description="Critical alerts are POSTed here as JSON."
    )
    retention_start: Literal["next-year", "record-date"] = Field(
        default="next-year",
        description="When a record's retention starts: 1 January of the year after the "
        "record's date (the default), or the record's date itself.",
    )
    appraisal_expiry_days: int = Field(
        default=90,
        ge=1,
        description="A proposed appraisal batch not decided within this many days expires: it "
        "can no longer be approved, and changes nothing.",
    )
    disposal_clock: datetime | None = Field(
        default=None,
        description="Stands in for 'now' when deciding which records fell due (tests and "
        "drills simulate the clock with it); unset: the real time.",
    )
    console_idle_minutes: float = Field(
        default=30, gt=0, description="A console session ends after this long without a request."
    )
    console_max_hours: float = Field(
        default=12, gt=0, description="A console session ends this long after sign-in, whatever."
    )
    archive_name: str = Field(
        default="", max_length=200, description="The archive's name on console pages and reports."
    )
    display_timezone: str = Field(
        default="Asia/Shanghai", description="Times on console pages and reports (IANA zone)."
    )

    # Opening review (preserve.opening) and the public face (preserve.api.public).
    opening_period_years: int = Field(
        default=25, ge=0, le=200, description="Years after formation a record is due for review."
    )
    opening_period_years_by_category: dict[str, int] = Field(
        default_factory=dict,
        description='Per category (the record\'s category/门类 field), JSON: {"科技": 10}.',
    )
    public_fields: list[str] = Field(
        default=["title", "archival_code", "date", "creator", "fonds"],
        description="The only metadata fields the public face ever shows (JSON list).",
    )
    public_rate_per_second: float = Field(
        default=10, gt=0, description="Public requests per second per client address."
    )
    public_rate_burst: int = Field(
        default=60, ge=1, description="Public requests a client address may send at once."
    )
    public_database_url: str | None = Field(
        default=None,
        description="preserve serve-public: a read-only role's URL (default: database_url).",
    )
    store_health_seconds: float = Field(
        default=300, gt=0, description="How often the scheduler looks for vanished targets."
    )
    free_space_warn_bytes: int = Field(
        default=10 * 1024**3,
        ge=0,
        description="Warn when a filesystem target or the data directory has less free space.",
    )
    debris_max_age_hours: float = Field(
        default=1,
        ge=0,
        description="Temporary objects and unacknowledged staging untouched this long are "
        "removed (a live writer touches its files every few seconds).",
    )

    @cached_property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.absolute()

    @property
    def staging_dir(self) -> Path:
        return self.resolved_data_dir / "staging"

    @property
    def keys_dir(self) -> Path:
        return self.resolved_data_dir / "keys"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'preserve.db'}"


def get_settings() -> Settings:
    return Settings()


class CheckpointSettings(BaseSettings):
    """When the event log's next signed checkpoint is due (read at each commit of events)."""

    model_config = SettingsConfigDict(env_prefix="PRESERVE_CHECKPOINT_", extra="ignore")
    every_events: int = Field(default=1000, ge=1)
    every_minutes: float = Field(default=15, gt=0)
