"""Recovery drills: prove on the running deployment that the off-site copies restore, and how fast.

For each off-site target (a site other than the profile's first target's) a random sample of
the AIPs it holds is restored into a scratch directory exactly as ``preserve restore --from``
would (every digest and the signature verified), timed, then deleted. The stores are only
read; each restore is a ``recovery`` event with agent ``drill``, so the drill itself is on
record (GB/T 20988 and 等保 ask for periodic restore drills and a restore log).

The estimate of a full restore of a target is the more pessimistic of two extrapolations from
the sample: mean seconds per AIP times the AIPs held, and bytes held over measured throughput.

The edge (``preserve drill``) drives three steps: :func:`plan_drill` in one transaction,
:func:`execute_drill` with none open while the restores run, :func:`record_drill` in another.
"""

from __future__ import annotations

import random
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from preserve.access.repository import held_on_target, verified_aip_ids
from preserve.access.service import RestoreRun, execute_restore, record_restore
from preserve.access.sources import AipRecord, load_record
from preserve.catalog.types import utcnow
from preserve.errors import InvalidInput, PreserveError
from preserve.storage.profiles import StorageProfile
from preserve.storage.stores import Stores
from preserve.trust.keyring import TrustedKeys

DRILL_AGENT = "drill"


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


@dataclass
class DrillPlan:
    """What a drill restores: per target, the AIPs held and the sampled records."""

    report: DrillReport
    samples: dict[str, list[AipRecord]] = field(default_factory=dict)


def plan_drill(
    session: Session,
    stores: Stores,
    *,
    profile_ref: str | None = None,
    targets: list[str] | None = None,
    sample: int = 3,
    seed: int | None = None,
) -> DrillPlan:
    """Choose the targets and the random sample of each, from the catalogue."""
    profile_ref = profile_ref or stores.default_profile
    profile = stores.profile(profile_ref)
    names = targets or offsite_targets(profile)
    unknown = sorted(set(names) - {t.name for t in profile.targets})
    if unknown:
        raise InvalidInput(f"profile {profile.name} has no target {', '.join(unknown)}")
    if not names:
        raise InvalidInput(
            f"profile {profile.name} has no target off the first target's site; name targets"
        )
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    plan = DrillPlan(DrillReport(profile_ref, utcnow().isoformat(), sample_size=sample, seed=seed))
    for name in names:
        target = profile.target(name)
        held = held_on_target(session, profile_ref, name)
        plan.report.targets.append(TargetDrill(name, target.site, target.media, *held))
        ids = verified_aip_ids(session, profile_ref, name)
        chosen = random.Random(f"{seed}:{name}").sample(ids, min(sample, len(ids)))
        plan.samples[name] = [load_record(session, aip_id) for aip_id in chosen]
    return plan


def execute_drill(
    plan: DrillPlan,
    stores: Stores,
    trusted: TrustedKeys,
    scratch: Path,
    on_sample: Callable[[DrillSample], None] | None = None,
) -> list[RestoreRun]:
    """Restore, time and delete every sample (no session); the runs are for :func:`record_drill`.

    ``plan.report`` is filled in as it goes."""
    report = plan.report
    scratch = scratch / f"drill-{int(time.time())}-{report.seed}"
    runs: list[RestoreRun] = []
    try:
        for drill in report.targets:
            for record in plan.samples[drill.target]:
                run = RestoreRun(record)
                runs.append(run)
                result = _restore_one(run, stores, trusted, drill.target, scratch)
                drill.samples.append(result)
                if on_sample is not None:
                    on_sample(result)
            _estimate(drill)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.finished_at = utcnow().isoformat()
    return runs


def record_drill(session: Session, runs: list[RestoreRun]) -> None:
    """Every restore of the drill as a ``recovery`` event with agent ``drill``."""
    for run in runs:
        record_restore(session, run, DRILL_AGENT)


def _restore_one(
    run: RestoreRun, stores: Stores, trusted: TrustedKeys, target: str, scratch: Path
) -> DrillSample:
    aip_id = run.record.aip_id
    destination = scratch / target / aip_id
    started = time.perf_counter()
    try:
        execute_restore(run, stores, trusted, destination, requested=target)
        result = run.outcome()
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
    drill.estimated_full_restore_seconds = round(max(by_count, by_bytes), 3)  # not 0.0 s
