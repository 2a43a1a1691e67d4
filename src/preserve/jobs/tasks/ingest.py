"""Jobs the ingest package owns."""

from __future__ import annotations

from typing import Any

from preserve.ingest.service import process_sip
from preserve.jobs.registry import task
from preserve.runtime import Runtime


@task("ingest.process")
def process(rt: Runtime, payload: dict[str, Any]) -> None:
    process_sip(rt, payload["sip_id"])
