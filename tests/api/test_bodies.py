"""The body guard's pieces: upload slots per token, the idle timeout on a body stream."""

from __future__ import annotations

import anyio
import pytest

from preserve.api.bodies import BodyLimits, UploadSlots, guarded
from preserve.errors import BodyTimeout, TooManyUploads


def test_a_token_holds_at_most_its_slots_and_gets_them_back():
    async def main() -> None:
        slots = UploadSlots()
        async with slots.take("t1", 2), slots.take("t1", 2):
            with pytest.raises(TooManyUploads):
                async with slots.take("t1", 2):
                    pass
            async with slots.take("t2", 2):
                pass
        assert slots.active == {}

    anyio.run(main)


def test_an_idle_body_is_cut_off():
    async def stalled():
        yield b"x"
        await anyio.sleep_forever()
        yield b"never"

    async def main() -> list[bytes]:
        got = []
        async for chunk in guarded(stalled(), BodyLimits(0.05, 0, 1)):
            got.append(chunk)
        return got

    with pytest.raises(BodyTimeout):
        anyio.run(main)
