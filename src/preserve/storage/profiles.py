"""Storage profiles: the targets an AIP is placed on and the policy it must meet.

A profile is a TOML file (``storage_profiles/<name>.toml``, format in docs/architecture.md).
Loading is strict: unknown keys, duplicate target names, a policy the targets cannot meet, and a
missing credential environment variable are refused with a message naming the problem. Secrets
never stand in a profile; it names the environment variables that hold them."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from preserve.errors import ConfigurationError

_NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Policy(_Strict):
    min_copies: int = Field(ge=1)
    min_sites: int = Field(default=1, ge=1)
    min_media: int = Field(default=1, ge=1)
    audit_interval_days: int = Field(default=90, ge=1)
    # 国密: SM3 manifests and an SM2 signature in every AIP, beside sha256/sha512 and
    # Ed25519 (preserve.trust.guomi).
    guomi: bool = False


class _Target(_Strict):
    name: str = Field(pattern=_NAME)
    site: str = Field(min_length=1)
    media: str = Field(min_length=1)
    audit_interval_days: int | None = Field(default=None, ge=1)
    # Cap on the bytes a worker process writes to this target while copying (a WAN link).
    max_write_mbps: float | None = Field(default=None, gt=0)


class FilesystemTarget(_Target):
    kind: Literal["filesystem"]
    root: str


class ObjectLock(_Strict):
    mode: Literal["COMPLIANCE", "GOVERNANCE"]
    days: int = Field(ge=1)


ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
"""Storage classes whose objects cannot be read until a restore request has completed."""


class S3Target(_Target):
    kind: Literal["s3"]
    bucket: str = Field(min_length=1)
    endpoint: str | None = None
    region: str | None = None
    prefix: str = ""
    storage_class: str | None = None
    access_key_env: str | None = None
    secret_key_env: str | None = None
    object_lock: ObjectLock | None = None
    part_size_mb: int = Field(default=64, ge=5, le=5120)
    max_concurrency: int = Field(default=4, ge=1, le=64)
    # Reads: an object of at least ranged_read_threshold_mb is fetched in parts of
    # read_part_size_mb, read_concurrency ranged GETs at a time (restores, rebuilds, audits).
    ranged_read_threshold_mb: int = Field(default=64, ge=1)
    read_part_size_mb: int = Field(default=8, ge=1, le=5120)
    read_concurrency: int = Field(default=6, ge=1, le=64)
    # Attempts the S3 client makes at one request before the copy is put back to wait.
    request_attempts: int = Field(default=5, ge=1, le=20)
    # The server refuses a PUT with If-None-Match: * on an existing key. False for servers
    # that ignore the header: a HEAD check before each write keeps objects written once.
    conditional_writes: bool = True
    connect_timeout_seconds: float = Field(default=10, gt=0)
    # How a copy is proven: by reading it back and hashing it here, or (where objects cannot
    # be read back, as in archive classes) by the server's checksum of what we sent.
    verify: Literal["read-back", "checksum"] | None = None

    @model_validator(mode="after")
    def _verifiable(self) -> S3Target:
        if self.verify == "read-back" and self.storage_class in ARCHIVE_CLASSES:
            raise ValueError(
                f"storage_class {self.storage_class} cannot be read back after writing; "
                "use verify = 'checksum' (the default for archive classes)"
            )
        return self

    @property
    def verify_mode(self) -> str:
        if self.verify:
            return self.verify
        return "checksum" if self.storage_class in ARCHIVE_CLASSES else "read-back"

    def credentials(self) -> tuple[str | None, str | None]:
        """Read the credentials from the environment at the moment they are needed."""
        return (
            os.environ.get(self.access_key_env) if self.access_key_env else None,
            os.environ.get(self.secret_key_env) if self.secret_key_env else None,
        )


Target = Annotated[FilesystemTarget | S3Target, Field(discriminator="kind")]


class StorageProfile(_Strict):
    name: str = Field(pattern=_NAME)
    policy: Policy
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _policy_can_hold(self) -> StorageProfile:
        names = [t.name for t in self.targets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate target names: {', '.join(dupes)}")
        p = self.policy
        sites = {t.site for t in self.targets}
        media = {t.media for t in self.targets}
        if len(self.targets) < p.min_copies:
            raise ValueError(f"min_copies={p.min_copies} but only {len(self.targets)} targets")
        if len(sites) < p.min_sites:
            raise ValueError(f"min_sites={p.min_sites} but targets span {len(sites)} sites")
        if len(media) < p.min_media:
            raise ValueError(f"min_media={p.min_media} but targets span {len(media)} media")
        return self

    def target(self, name: str) -> FilesystemTarget | S3Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise ConfigurationError(f"profile {self.name!r} has no target {name!r}")

    def policy_holds(self, verified_targets: set[str]) -> bool:
        chosen = [t for t in self.targets if t.name in verified_targets]
        return (
            len(chosen) >= self.policy.min_copies
            and len({t.site for t in chosen}) >= self.policy.min_sites
            and len({t.media for t in chosen}) >= self.policy.min_media
        )

    def audit_interval_days(self, target_name: str) -> int:
        return self.target(target_name).audit_interval_days or self.policy.audit_interval_days


def load_profile(path: str | os.PathLike[str], *, base_dir: Path | None = None) -> StorageProfile:
    """Load and check a profile file. Relative filesystem roots resolve against ``base_dir``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"storage profile not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"storage profile {path} is not valid TOML: {exc}") from None
    try:
        profile = StorageProfile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigurationError(f"storage profile {path}: {_summarize(exc)}") from None
    _check_environment(profile, path)
    if base_dir is not None:
        profile = _resolve_roots(profile, base_dir)
    return profile


def resolve_profile_path(ref: str, profiles_dir: Path) -> Path:
    """A profile reference is a path to a file, or a name under ``profiles_dir``."""
    candidate = Path(ref)
    if candidate.suffix == ".toml" or os.sep in ref:
        return candidate
    return profiles_dir / f"{ref}.toml"


def _check_environment(profile: StorageProfile, path: Path) -> None:
    for t in profile.targets:
        if isinstance(t, S3Target):
            for var in (t.access_key_env, t.secret_key_env):
                if var and var not in os.environ:
                    raise ConfigurationError(
                        f"storage profile {path}: target {t.name!r} needs environment "
                        f"variable {var}, which is not set"
                    )


def _resolve_roots(profile: StorageProfile, base_dir: Path) -> StorageProfile:
    targets = [
        t.model_copy(update={"root": str((base_dir / t.root).absolute())})
        if isinstance(t, FilesystemTarget) and not os.path.isabs(t.root)
        else t
        for t in profile.targets
    ]
    return profile.model_copy(update={"targets": targets})


def _summarize(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"]) or "profile"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)
