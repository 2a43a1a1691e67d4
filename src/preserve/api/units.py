"""Units of work for async endpoints that stream a body: each step that touches the catalogue
runs in a worker thread in its own transaction, committed when the step returns, so that no
transaction (nor SQLite's write lock) is held while bytes arrive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from preserve.runtime import Runtime

R = TypeVar("R")


def run_in_transaction(rt: Runtime, fn: Callable[..., R], *args: Any) -> R:
    """``fn(session, *args)`` in one transaction: committed if it returns, rolled back if not."""
    with rt.sessions.begin() as session:
        return fn(session, *args)


async def in_transaction(rt: Runtime, fn: Callable[..., R], *args: Any) -> R:
    """:func:`run_in_transaction` from async code, in a worker thread."""
    return await anyio.to_thread.run_sync(run_in_transaction, rt, fn, *args)


def run_reading(rt: Runtime, fn: Callable[..., R], *args: Any) -> R:
    """``fn(session, *args)`` in a unit of work that only reads (on SQLite it does not take
    the write lock, so it neither waits for the worker's writes nor holds them up)."""
    with rt.read_sessions.begin() as session:
        return fn(session, *args)


async def reading(rt: Runtime, fn: Callable[..., R], *args: Any) -> R:
    """:func:`run_reading` from async code, in a worker thread."""
    return await anyio.to_thread.run_sync(run_reading, rt, fn, *args)
