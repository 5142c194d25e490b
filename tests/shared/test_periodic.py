"""The background loop: it survives failing steps, and it stops even when a step swallows the cancel."""

from __future__ import annotations

import asyncio

from devkit.waits import eventually
from shared.periodic import Periodic


class Swallowing(Periodic):
    """Its step eats a cancellation (as a library racing its own timeout against it can) and returns."""

    name = "swallowing"

    def __init__(self) -> None:
        super().__init__(interval_s=0.01)
        self.inside = asyncio.Event()

    async def step(self) -> None:
        self.inside.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return  # swallowed


class Failing(Periodic):
    name = "failing"

    def __init__(self) -> None:
        super().__init__(interval_s=0.01)
        self.steps = 0

    async def step(self) -> None:
        self.steps += 1
        raise RuntimeError("a failing step is logged, not fatal")


async def test_a_loop_whose_step_swallows_the_cancel_still_stops() -> None:
    loop = Swallowing()
    await loop.start()
    await asyncio.wait_for(loop.inside.wait(), 5)
    await asyncio.wait_for(loop.stop(), 5)  # would wait forever if only the cancel were relied on


async def test_a_failing_step_does_not_end_the_loop() -> None:
    loop = Failing()
    await loop.start()
    await eventually(lambda: loop.steps >= 3, 10)
    assert await loop.ready() is None and loop.alive() is None
    await loop.stop()
