"""Which function runs a job of each kind. Domain packages register their tasks here."""

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
    import preserve.audit.tasks
    import preserve.ingest.tasks
    import preserve.storage.tasks
    import preserve.trust.tasks  # noqa: F401
