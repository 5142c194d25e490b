"""The one background-loop component: run a step every ``interval_s`` until the service stops.

A failing step is logged and tried again next period (the loop never dies of it); readiness says
whether the loop is running. Scout's scan loop, execution's position watcher and monitor's history
sampler are all this, with their own step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

log = logging.getLogger(__name__)


class Periodic:
    name = "periodic"

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def step(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def ready(self) -> str | None:
        return None if self._task is not None and not self._task.done() else f"{self.name} not running"

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.step()
            except Exception:
                log.exception("%s step failed; trying again next period", self.name)
            # A fixed rate, not a fixed pause: a slow step does not push every later one back.
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(self._interval_s * 0.1, self._interval_s - elapsed))
