"""What many tests say to the API: a bearer header, and waiting for a state to be reached."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for(check: Callable[[], T], timeout: float = 180, what: str = "a condition") -> T:
    """Poll ``check`` until it returns something true, and return that (no fixed sleeps: the
    poll interval only bounds how late a condition is noticed)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
