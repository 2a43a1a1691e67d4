"""Jobs the trust package owns."""

from __future__ import annotations

from typing import Any

from preserve.catalog.chain import CHECKPOINT_JOB_KIND as JOB_KIND
from preserve.jobs.registry import task
from preserve.runtime import Runtime
from preserve.trust.log import run_checkpoint


@task(JOB_KIND)
def checkpoint(rt: Runtime, payload: dict[str, Any]) -> None:
    run_checkpoint(rt)
