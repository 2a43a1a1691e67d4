"""Jobs the storage package owns."""

from __future__ import annotations

from typing import Any

from preserve.jobs.registry import task
from preserve.runtime import Runtime
from preserve.storage.service import replicate_aip, store_aip


@task("storage.store")
def store(rt: Runtime, payload: dict[str, Any]) -> None:
    store_aip(rt, payload["aip_id"])


@task("storage.replicate")
def replicate(rt: Runtime, payload: dict[str, Any]) -> None:
    replicate_aip(rt, payload["aip_id"], payload["target"])
