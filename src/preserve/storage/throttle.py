"""Pacing the bytes a process writes to one target (``max_write_mbps`` in the profile).

Copies to a remote site share a WAN link with everything else the archive does; a target's
cap keeps replication from filling it. One pacer per target per process, shared by every
thread writing to that target; several worker processes each get the full cap.
"""

from __future__ import annotations

import threading
import time

MB = 1_000_000
_BURST_SECONDS = 0.5

_pacers: dict[str, Pacer] = {}
_lock = threading.Lock()


class Pacer:
    """A virtual clock: each byte taken moves it on by 1/rate; callers sleep until it."""

    def __init__(self, bytes_per_second: float) -> None:
        self.rate = bytes_per_second
        self._clock = time.monotonic()
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(self._clock, now - _BURST_SECONDS)
            self._clock = start + n / self.rate
            delay = self._clock - now - _BURST_SECONDS
        if delay > 0:
            time.sleep(delay)


def pacer_for(target: str, mbps: float | None) -> Pacer | None:
    """The process-wide pacer of ``target``, or None when it has no cap."""
    if mbps is None:
        return None
    with _lock:
        pacer = _pacers.get(target)
        if pacer is None or pacer.rate != mbps * MB:
            pacer = _pacers[target] = Pacer(mbps * MB)
        return pacer
