"""Recovery drills: prove on the running deployment that the off-site copies restore, and how fast.

For each off-site target (a site other than the profile's first target's) a random sample of
the AIPs it holds is restored into a scratch directory exactly as ``preserve restore --from``
would (every digest and the signature verified), timed, then deleted. The stores are only
read; each restore is a ``recovery`` event with agent ``drill``, so the drill itself is on
record (GB/T 20988 and 等保 ask for periodic restore drills and a restore log).

The estimate of a full restore of a target is the more pessimistic of two extrapolations from
the sample: mean seconds per AIP times the AIPs held, and bytes held over measured throughput.
"""

from __future__ import annotations

import random
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from preserve.access.service import restore
from preserve.catalog.models import Aip, Replica, ReplicaState
from preserve.catalog.types import utcnow
from preserve.errors import InvalidInput, PreserveError
from preserve.runtime import Runtime
from preserve.storage.profiles import StorageProfile


@dataclass
class DrillSample:
    aip_id: str
    target: str
    ok: bool
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    detail: str = ""


@dataclass
class TargetDrill:
    target: str
    site: str
    media: str
    aips_held: int
    bytes_held: int
    samples: list[DrillSample] = field(default_factory=list)
    throughput_mb_s: float | None = None
    seconds_per_aip: float | None = None
    estimated_full_restore_seconds: float | None = None

    @property
    def failed(self) -> int:
        return sum(not s.ok for s in self.samples)


@dataclass
class DrillReport:
    profile: str
    started_at: str
    finished_at: str = ""
    sample_size: int = 0
    seed: int = 0
    targets: list[TargetDrill] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(t.failed for t in self.targets)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["failed"] = self.failed
        return doc


def offsite_targets(profile: StorageProfile) -> list[str]:
    home = profile.targets[0].site
    return [t.name for t in profile.targets if t.site != home]


def run_drill(
    rt: Runtime,
    scratch: Path,
    *,
    profile_ref: str | None = None,
    targets: list[str] | None = None,
    sample: int = 3,
    seed: int | None = None,
    on_sample: Callable[[DrillSample], None] | None = None,
) -> DrillReport:
    profile_ref = profile_ref or rt.settings.storage_profile
    profile = rt.profile(profile_ref)
    names = targets or offsite_targets(profile)
    unknown = sorted(set(names) - {t.name for t in profile.targets})
    if unknown:
        raise InvalidInput(f"profile {profile.name} has no target {', '.join(unknown)}")
    if not names:
        raise InvalidInput(
            f"profile {profile.name} has no target off the first target's site; name targets"
        )
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    report = DrillReport(profile_ref, utcnow().isoformat(), sample_size=sample, seed=seed)
    scratch = scratch / f"drill-{int(time.time())}-{seed}"
    try:
        for name in names:
            target = profile.target(name)
            drill = TargetDrill(name, target.site, target.media, *_held(rt, profile_ref, name))
            for aip_id in _sample(rt, profile_ref, name, sample, random.Random(f"{seed}:{name}")):
                result = _restore_one(rt, aip_id, name, scratch)
                drill.samples.append(result)
                if on_sample is not None:
                    on_sample(result)
            _estimate(drill)
            report.targets.append(drill)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.finished_at = utcnow().isoformat()
    return report


def _held(rt: Runtime, profile_ref: str, target: str) -> tuple[int, int]:
    with rt.sessions.begin() as session:
        count, size = session.execute(
            select(func.count(), func.coalesce(func.sum(Aip.total_bytes), 0))
            .select_from(Replica)
            .join(Aip)
            .where(
                Replica.target == target,
                Replica.state == ReplicaState.VERIFIED,
                Aip.storage_profile == profile_ref,
            )
        ).one()
    return int(count), int(size)


def _sample(rt: Runtime, profile_ref: str, target: str, n: int, rng: random.Random) -> list[str]:
    with rt.sessions.begin() as session:
        ids = sorted(
            session.scalars(
                select(Replica.aip_id)
                .join(Aip)
                .where(
                    Replica.target == target,
                    Replica.state == ReplicaState.VERIFIED,
                    Aip.storage_profile == profile_ref,
                )
            )
        )
    return rng.sample(ids, min(n, len(ids)))


def _restore_one(rt: Runtime, aip_id: str, target: str, scratch: Path) -> DrillSample:
    destination = scratch / target / aip_id
    started = time.perf_counter()
    try:
        result = restore(rt, aip_id, destination, requested=target, agent="drill")
    except PreserveError as exc:
        seconds = time.perf_counter() - started
        return DrillSample(aip_id, target, False, seconds=round(seconds, 3), detail=str(exc))
    finally:
        shutil.rmtree(destination, ignore_errors=True)
    seconds = time.perf_counter() - started
    return DrillSample(aip_id, target, True, result.files, result.bytes, round(seconds, 3))


def _estimate(drill: TargetDrill) -> None:
    ok = [s for s in drill.samples if s.ok]
    if not ok:
        return
    seconds = sum(s.seconds for s in ok)
    size = sum(s.bytes for s in ok)
    drill.seconds_per_aip = round(statistics.fmean(s.seconds for s in ok), 3)
    by_count = drill.seconds_per_aip * drill.aips_held
    by_bytes = drill.bytes_held * seconds / size if size else 0.0
    drill.throughput_mb_s = round(size / seconds / 1e6, 2) if seconds else None
    drill.estimated_full_restore_seconds = round(max(by_count, by_bytes), 1)
