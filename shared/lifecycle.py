"""The life of a service's components: started once Redis accepts writes, watched, stopped in bounded time.

- **Start**: components start in order once Redis accepts a write. The app waits for that up to
  ``START_INLINE_S`` (the usual case: everything is up before the first request); past it, the start
  goes on in the background, so a Redis that is down, loading, out of memory or read-only delays the
  start but never crashes the service, and meanwhile ``/livez`` answers and ``/readyz`` says why not.
- **Liveness**: a component may say it is dead or stuck (``alive()`` returns a reason): a consumer loop
  that died, a background loop whose step has not come back past its bound. ``/livez`` then answers 503,
  so an orchestrator restarts the process.
- **Stop**: in reverse order, each within what is left of the stop budget; a component that does not
  stop in time is abandoned (logged), so the process always exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis

log = logging.getLogger(__name__)

STARTUP_PROBE_KEY = "tp:startup-probe"
READINESS_TIMEOUT_S = 2.0
START_INLINE_S = 5.0


@runtime_checkable
class Component(Protocol):
    """Something with a life inside a service: a stream consumer, a scheduler, a pub/sub listener.

    It may also define ``alive() -> str | None`` (None when alive, otherwise why it is dead or stuck)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> str | None:
        """``None`` when ready, otherwise the reason it is not."""


async def redis_accepts_writes(redis: Redis) -> str | None:
    """None when a write succeeds, otherwise why not (down, loading, OOM, read-only...)."""
    try:
        await asyncio.wait_for(redis.set(STARTUP_PROBE_KEY, b"1", px=60_000), READINESS_TIMEOUT_S)
    except Exception as error:  # any answer but OK means "not yet"
        return f"{type(error).__name__}: {str(error)[:200]}"
    return None


class Lifecycle:
    def __init__(
        self,
        components: Sequence[Component],
        redis: Redis | None,
        *,
        stop_budget_s: float,
        start_inline_s: float = START_INLINE_S,
    ) -> None:
        self.components = list(components)
        self._redis = redis
        self._stop_budget_s = stop_budget_s
        self._start_inline_s = start_inline_s
        self.started: list[Component] = []
        self.waiting_for: str | None = "not started"
        self._starter: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._starter = asyncio.create_task(self._start_all(), name="component-starter")
        await asyncio.wait({self._starter}, timeout=self._start_inline_s)

    async def _start_all(self) -> None:
        backoff = 0.1
        while self._redis is not None and (problem := await redis_accepts_writes(self._redis)) is not None:
            if self.waiting_for != f"waiting for Redis to accept writes ({problem})":
                log.warning("waiting for Redis to accept writes before starting", extra={"problem": problem})
            self.waiting_for = f"waiting for Redis to accept writes ({problem})"
            await asyncio.sleep(backoff)
            backoff = min(2.0, backoff * 2)
        for component in self.components:
            self.waiting_for = f"starting {component.name}"
            while True:
                try:
                    await component.start()
                    break
                except Exception as error:  # e.g. Redis went away again mid-start: try again, never crash
                    log.warning("component failed to start; retrying", extra={"component": component.name})
                    self.waiting_for = f"{component.name} failed to start: {type(error).__name__}"
                    await asyncio.sleep(1.0)
            self.started.append(component)
        self.waiting_for = None
        log.info("components started", extra={"components": [c.name for c in self.started]})

    async def not_ready(self) -> list[str]:
        if self.waiting_for is not None:
            return [self.waiting_for]
        problems: list[str] = []
        for component in self.started:
            try:
                reason = await asyncio.wait_for(component.ready(), READINESS_TIMEOUT_S)
            except Exception as error:
                reason = f"readiness check failed: {type(error).__name__}"
            if reason:
                problems.append(f"{component.name}: {reason}")
        return problems

    def not_alive(self) -> list[str]:
        problems = []
        if self._starter is not None and self._starter.done() and not self._starter.cancelled():
            error = self._starter.exception()
            if error is not None:
                problems.append(f"start-up failed: {type(error).__name__}: {error}")
        for component in self.started:
            check = getattr(component, "alive", None)
            reason = check() if callable(check) else None
            if reason:
                problems.append(f"{component.name}: {reason}")
        return problems

    async def stop(self) -> None:
        """Stop what started, newest first, all within the stop budget."""
        deadline = time.monotonic() + self._stop_budget_s
        if self._starter is not None:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._starter
        for component in reversed(self.started):
            left = max(0.1, deadline - time.monotonic())
            try:
                await asyncio.wait_for(component.stop(), left)
            except TimeoutError:
                log.error("component did not stop in time; abandoning it", extra={"component": component.name})
            except Exception:
                log.exception("component failed to stop", extra={"component": component.name})
        self.started.clear()
