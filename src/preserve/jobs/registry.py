"""Which function runs a job of each kind; :mod:`preserve.jobs.tasks` modules register here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from preserve.runtime import Runtime

Handler = Callable[[Runtime, dict[str, Any]], None]

_HANDLERS: dict[str, Handler] = {}


def task(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def handler_for(kind: str) -> Handler:
    load_tasks()
    return _HANDLERS[kind]


def load_tasks() -> None:
    """Import every package's tasks module so their handlers register."""
    import preserve.jobs.tasks.audit
    import preserve.jobs.tasks.disposal
    import preserve.jobs.tasks.health
    import preserve.jobs.tasks.ingest
    import preserve.jobs.tasks.opening
    import preserve.jobs.tasks.storage
    import preserve.jobs.tasks.trust  # noqa: F401
