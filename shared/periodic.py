"""The one background-loop component: run a step every ``interval_s`` until the service stops.

A failing step is logged and tried again next period (the loop never dies of it); readiness says
whether the loop is running, liveness whether it died or a step is stuck. Stopping sets a flag as well
as cancelling, so a step that swallows the cancellation cannot keep the loop alive. Scout's scan loop,
execution's protection and reconciliation, and monitor's history sampler are all this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

log = logging.getLogger(__name__)
STUCK_AFTER_S = 300.0


class Periodic:
    name = "periodic"

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.beat = time.monotonic()  # when the last step started, for liveness

    async def step(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        # The flag, not only the cancel: a library may swallow a cancellation mid-step (redis-py's read
        # timeout racing it, say); the loop still sees the flag after the step and ends.
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def ready(self) -> str | None:
        return None if self._task is not None and not self._task.done() else f"{self.name} not running"

    def alive(self) -> str | None:
        """Dead when its task ended with an error; stuck when a step has not come back for long."""
        task = self._task
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            return f"{self.name} died: {type(task.exception()).__name__}"
        stuck_after = max(STUCK_AFTER_S, 10 * self._interval_s)
        if task is not None and not task.done() and time.monotonic() - self.beat > stuck_after:
            return f"{self.name} step running for {time.monotonic() - self.beat:.0f} s"
        return None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            self.beat = started
            try:
                await self.step()
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("%s step failed; trying again next period", self.name)
            # A fixed rate, not a fixed pause: a slow step does not push every later one back.
            elapsed = time.monotonic() - started
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), max(self._interval_s * 0.1, self._interval_s - elapsed))
