"""``preserve storage check``: can each target of a profile do its job right now?

For each target: is it reachable; does a write, read-back and delete of a probe object work
(on a WORM target, where a written object cannot be deleted, a read-only probe instead);
is the bucket versioned and is Object Lock on where the profile relies on it. Then: can the
policy be met by the targets that passed? A probe leaves nothing behind: on a versioned
bucket the probe's version itself is deleted, not hidden behind a delete marker.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from preserve.aip.layout import AIP_ROOT
from preserve.errors import IntegrityError, PreserveError
from preserve.storage.base import (
    LocalDirectory,
    Store,
    Versioned,
    proves_by_checksum,
    read_bytes,
)
from preserve.storage.health import holds_aips, vanished_problem
from preserve.storage.profiles import FilesystemTarget, S3Target, StorageProfile
from preserve.storage.space import DATA_DIR, space_report

PROBE_PREFIX = "preserve-probe/"


@dataclass
class TargetCheck:
    target: str
    kind: str
    site: str
    media: str
    reachable: bool = False
    probe: str = "not run"
    versioning: bool | None = None
    object_lock: bool | None = None
    storage_class: str | None = None
    verify: str = "read-back"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    free_bytes: int | None = None  # filesystem targets: free space where the root is
    warnings: list[str] = field(default_factory=list)  # low free space: act before it fails

    @property
    def ok(self) -> bool:
        return self.reachable and not self.problems


@dataclass
class ProfileCheck:
    profile: str
    policy: dict[str, int]
    targets: list[TargetCheck]
    policy_met_by_healthy_targets: bool
    data_dir: dict | None = None  # free space of the data directory (staging, catalogue)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.targets)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        for entry, target in zip(data["targets"], self.targets, strict=True):
            entry["ok"] = target.ok
        return data


def check_profile(
    profile: StorageProfile,
    open_store: Callable[[str], Store],
    held: Mapping[str, int] | None = None,
    *,
    data_dir: Path | None = None,
    warn_below: int = 0,
) -> ProfileCheck:
    """``held``: verified replicas per target in the catalogue. A target holding such
    replicas must show AIPs: a vanished root, bucket or prefix is a failure, not a fresh store.
    Free space below ``warn_below`` (filesystem targets, ``data_dir``) is a warning."""
    held = held or {}
    checks = [check_target(t, open_store, held.get(t.name, 0)) for t in profile.targets]
    spaces = {s.name: s for s in space_report([profile], data_dir or Path("."), warn_below)}
    for check in checks:
        space = spaces.get(check.target)
        if space is not None:
            check.free_bytes = space.free
            if space.low:
                check.warnings.append(space.warning)
    healthy = {c.target for c in checks if c.ok}
    data = spaces.get(DATA_DIR) if data_dir is not None else None
    return ProfileCheck(
        profile.name,
        profile.policy.model_dump(),
        checks,
        profile.policy_holds(healthy),
        data.to_dict() if data is not None else None,
    )


def check_target(
    target: FilesystemTarget | S3Target, open_store: Callable[[str], Store], held: int = 0
) -> TargetCheck:
    check = TargetCheck(target.name, target.kind, target.site, target.media)
    try:
        store = open_store(target.name)
        if held and not holds_aips(target, store):
            check.problems.append(vanished_problem(target.name, held))
        worm = _inspect(target, store, check)
        check.reachable = True
        check.probe = _read_probe(store) if worm else _write_probe(store)
    except PreserveError as exc:
        check.problems.append(str(exc))
        check.probe = "failed"
    return check


def _inspect(target: FilesystemTarget | S3Target, store: Store, check: TargetCheck) -> bool:
    """Fill in what the target says about itself; True for a WORM (Object Lock) bucket."""
    if isinstance(target, FilesystemTarget):
        if not Path(target.root).is_dir():
            check.notes.append(f"root {target.root} does not exist yet; the probe creates it")
        return False
    if not isinstance(store, Versioned):
        return False
    status = store.bucket_status()
    check.versioning = status["versioning"]
    check.object_lock = status["object_lock"]
    check.storage_class = target.storage_class
    check.verify = target.verify_mode
    if target.object_lock and not status["object_lock"]:
        check.problems.append(
            f"the profile asks for {target.object_lock.mode} retention but bucket "
            f"{target.bucket} has no Object Lock"
        )
    if status["object_lock"] and not target.object_lock:
        check.notes.append("the bucket has Object Lock; objects get its default retention")
    if not status["versioning"]:
        check.notes.append("the bucket is not versioned: a repair replaces bytes in place")
    return bool(status["object_lock"])


def _write_probe(store: Store) -> str:
    key = f"{PROBE_PREFIX}{uuid.uuid4()}"
    data = f"preserve storage check {key}\n".encode()
    info = store.put(key, io.BytesIO(data))
    try:
        back = read_bytes(store, key) if _readable(store) else None
    finally:
        _remove(store, key, info.version_id)
    if back is not None and hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
        raise IntegrityError(f"{store.name}: the probe read back different bytes")
    return "write/read/delete ok" if back is not None else "write/delete ok (archive class)"


def _read_probe(store: Store) -> str:
    for key in store.list(f"{AIP_ROOT}/"):
        store.stat(key)
        return "read-only ok (WORM: listed and read an object's metadata)"
    return "read-only ok (WORM: listed, no AIPs yet)"


def _readable(store: Store) -> bool:
    return not proves_by_checksum(store)


def _remove(store: Store, key: str, version_id: str | None) -> None:
    if version_id and isinstance(store, Versioned):
        store.delete_version(key, version_id)
    else:
        store.delete(key)
    if isinstance(store, LocalDirectory):
        with contextlib.suppress(OSError):
            (store.root / PROBE_PREFIX).rmdir()
