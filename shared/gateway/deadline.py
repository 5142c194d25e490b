"""A caller waits for the exchange at most a deadline; the call itself goes on in the background.

With retries and 10 s timeouts, one slow read could hold its caller for 40 s. Here the caller gives up
after ``deadline_s`` with :class:`SlowExchangeError` (the cache then serves its stale copy, or the caller
gets that clear error), while the fetch keeps running: when it completes, ``on_late`` stores its value
(in the cache), so the next caller finds fresh data. A second caller for the same key while a fetch is
still running joins it instead of sending another request to an exchange that is already slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from prometheus_client import Counter

from shared import metrics
from shared.errors import TransientExchangeError

log = logging.getLogger(__name__)

DEADLINE_PASSED = Counter(
    metrics.name("exchange_deadline_passed_total"), "Reads whose caller stopped waiting for a slow exchange"
)


class SlowExchangeError(TransientExchangeError):
    """The exchange did not answer within the caller's deadline (the call goes on in the background)."""


class Deadlines:
    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._late: set[asyncio.Task[Any]] = set()  # fetches whose value is stored when it comes
        self._storing: set[asyncio.Task[None]] = set()

    async def run(
        self, key: str, fetch: Callable[[], Coroutine[Any, Any, Any]], on_late: Callable[[Any], Awaitable[None]]
    ) -> Any:
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(fetch(), name=f"fetch:{key}")
            self._running[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.deadline_s)
        except TimeoutError:
            DEADLINE_PASSED.inc()
            if task not in self._late:
                self._late.add(task)
                task.add_done_callback(lambda done: self._store_late(done, on_late))
            raise SlowExchangeError(
                f"the exchange did not answer within {self.deadline_s:g} s (the call goes on in the background)"
            ) from None

    def _forget(self, key: str, done: asyncio.Task[Any]) -> None:
        if self._running.get(key) is done:
            del self._running[key]

    def _store_late(self, done: asyncio.Task[Any], on_late: Callable[[Any], Awaitable[None]]) -> None:
        self._late.discard(done)
        if done.cancelled() or done.exception() is not None:
            return
        storing = asyncio.ensure_future(self._store(on_late, done.result()))
        self._storing.add(storing)
        storing.add_done_callback(self._storing.discard)

    @staticmethod
    async def _store(on_late: Callable[[Any], Awaitable[None]], value: Any) -> None:
        try:
            await on_late(value)
        except Exception as error:  # Redis away: the next caller fetches again
            log.warning("late exchange answer not stored: %s", type(error).__name__)

    async def close(self) -> None:
        tasks = [*self._running.values(), *self._storing]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
