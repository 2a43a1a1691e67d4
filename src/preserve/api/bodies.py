"""Request bodies under guard: a body that stops arriving (idle past a timeout, or slower on
average than a minimum rate) is cut off with 408, and one token sends at most so many bodies at
once (429). A slow sender can hold neither a staging folder nor a connection for long."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from preserve.errors import BodyTimeout, TooManyUploads


@dataclass(frozen=True)
class BodyLimits:
    idle_seconds: float
    min_bytes_per_second: float
    per_token: int

    @classmethod
    def of(cls, settings) -> BodyLimits:
        return cls(
            settings.body_idle_timeout_seconds,
            settings.body_min_bytes_per_second,
            settings.max_concurrent_uploads_per_token,
        )


async def guarded(chunks: AsyncIterator[bytes], limits: BodyLimits) -> AsyncIterator[bytes]:
    """``chunks``, raising :class:`BodyTimeout` when none arrives within the idle timeout or
    when, past that long, the average rate is below the minimum."""
    iterator = chunks.__aiter__()
    started, received = time.monotonic(), 0
    while True:
        try:
            with anyio.fail_after(limits.idle_seconds):
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise BodyTimeout(
                f"no byte of the body arrived for {limits.idle_seconds:g} s; cut off"
            ) from None
        received += len(chunk)
        elapsed = time.monotonic() - started
        if elapsed > limits.idle_seconds and received < limits.min_bytes_per_second * elapsed:
            raise BodyTimeout(
                f"the body arrives at {received / elapsed:.0f} bytes/s, below the "
                f"{limits.min_bytes_per_second:g} bytes/s this server asks; cut off"
            )
        yield chunk


@dataclass
class UploadSlots:
    """How many bodies each token is sending now (one event loop: no lock needed)."""

    active: dict[str, int] = field(default_factory=dict)

    @asynccontextmanager
    async def take(self, token: str, limit: int) -> AsyncIterator[None]:
        if self.active.get(token, 0) >= limit:
            raise TooManyUploads(
                f"this token is already sending {limit} bodies; wait for one to finish"
            )
        self.active[token] = self.active.get(token, 0) + 1
        try:
            yield
        finally:
            self.active[token] -= 1
            if not self.active[token]:
                del self.active[token]
