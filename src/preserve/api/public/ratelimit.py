"""Requests per client address: a token bucket per address, in process.

Each address may send ``burst`` requests at once and ``rate`` per second after that; the next
request is refused with 429 and ``Retry-After``. Nothing else about the client is kept, and
the table forgets idle addresses (a full bucket is the same as no bucket), so it stays small.
Behind a reverse proxy, run uvicorn with its proxy-headers option so the address is the
client's, not the proxy's.
"""

from __future__ import annotations

import math
import threading
import time

MAX_ADDRESSES = 100_000


class TokenBuckets:
    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, address: str) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(address, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1:
                self._buckets[address] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[address] = (tokens - 1, now)
            if len(self._buckets) > MAX_ADDRESSES:
                self._forget_full(now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        full = [
            a for a, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.burst
        ]
        for address in full:
            del self._buckets[address]


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
