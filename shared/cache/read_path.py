"""The read path below L1: Redis, the fill lock, waiting for another holder's fill, stale serving.

After L1 and the in-process single-flight (see :mod:`shared.cache.tiered`), a read goes:

1. Redis ``GET``: a fresh entry is a hit.
2. Lock or join (one Lua round trip): the lock holder calls the upstream, renewing its lease while the
   fetch runs, and writes the entry; everyone else serves the stale copy at once when there is one
   (stale-while-revalidate), or waits for the holder's fill, woken by a pub/sub event (polling as a
   fallback), for at most ``fill_wait_s``.
3. Stale-if-error: when the upstream raises and a stale copy exists, the stale copy is served.

A caller may bound its wait (``wait_s``): past it, it gets the stale copy or :class:`UpstreamSlow`,
while the fetch goes on in the background, still holding the lock, and stores its answer when it
comes, so nobody starts a second fetch beside a slow one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from shared.cache.events import CacheEvents, fill_event, release_event
from shared.cache.l1 import L1
from shared.cache.lock import FillLock, LockScripts
from shared.cache.model import CacheConfig, Entry, FreshUntil, Shape, Source, Tier, shaped
from shared.cache.stats import LEVEL_REDIS, CacheStats
from shared.errors import UpstreamSlow, UpstreamUnavailable
from shared.redis_client import RETRYABLE_ERRORS

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05


class ReadPath:
    def __init__(
        self,
        redis: Redis,
        config: CacheConfig,
        clock: Callable[[], float],
        l1: L1,
        stats: CacheStats,
        events: CacheEvents,
    ) -> None:
        self._redis = redis
        self._config = config
        self._clock = clock
        self._l1 = l1
        self._stats = stats
        self._events = events
        self._scripts = LockScripts(redis)
        self._background: set[asyncio.Task[Entry]] = set()  # fills whose caller stopped waiting

    async def load(self, tier: Tier, redis_key: str, symbol: str, source: Source, wait_s: float | None) -> Any:
        until = time.monotonic() + (math.inf if wait_s is None else wait_s)
        raw = await self._redis.get(redis_key)
        if raw is not None:
            current = Entry.decode(raw)
            if current.is_fresh(self._clock()):
                return self._hit(tier, redis_key, symbol, current, "hit", source.shape)
        give_up = min(until, time.monotonic() + self._config.fill_wait_s)
        while True:
            lock = FillLock(
                self._scripts, self._config.prefix, tier.value, redis_key, self._events.channel, self._config.lock_ttl_s
            )
            acquired, raw = await lock.acquire_or_get()
            entry = Entry.decode(raw) if raw else None
            if entry is not None and entry.is_fresh(self._clock()):
                if acquired:
                    await lock.release(release_event(redis_key, None))
                return self._hit(tier, redis_key, symbol, entry, "join", source.shape)
            if acquired:
                return await self._fill(tier, redis_key, symbol, lock, source, stale=entry, until=until)
            if entry is not None:
                # Someone else refreshes it: serve the stale copy now rather than wait.
                return self._hit(tier, redis_key, symbol, entry, "stale", source.shape)
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                self._stats.record(tier, LEVEL_REDIS, "join_failed")
                raise UpstreamSlow(f"no fill of {redis_key} in time: another holder is still fetching it")
            failure = await self._events.wait_for_fill(redis_key, min(POLL_INTERVAL_S, remaining))
            if failure is not None:
                self._stats.record(tier, LEVEL_REDIS, "join_failed")
                raise UpstreamUnavailable(f"upstream failed for {redis_key}: {failure}")

    def new_entry(self, tier: Tier, value: Any, fresh_until: FreshUntil | None = None) -> Entry:
        now = self._clock()
        until = fresh_until(value, now) if fresh_until is not None else now + self._config.tiers[tier].fresh_s
        return Entry(until, now, value)

    def ttl_ms(self, tier: Tier, entry: Entry) -> int:
        """The Redis TTL: what is left of the fresh window, then the tier's stale window."""
        return max(1, int((entry.fresh_until - entry.fetched_at + self._config.tiers[tier].stale_s) * 1000))

    async def close(self) -> None:
        """Cancel the fills still running in the background (each releases its lock)."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _hit(self, tier: Tier, redis_key: str, symbol: str, entry: Entry, outcome: str, shape: Shape) -> Any:
        self._stats.record(tier, LEVEL_REDIS, outcome)
        entry = shaped(entry, shape)
        if outcome != "stale":
            self._l1.put(redis_key, entry, tier, symbol)
        return entry.value

    async def _fill(
        self,
        tier: Tier,
        redis_key: str,
        symbol: str,
        lock: FillLock,
        source: Source,
        *,
        stale: Entry | None,
        until: float,
    ) -> Any:
        filling = asyncio.create_task(self._fetch_and_store(tier, lock, source, stale))
        try:
            await asyncio.wait({filling}, timeout=None if until == math.inf else max(0.0, until - time.monotonic()))
        except BaseException:  # we were cancelled: so is the fill, which frees the lock for a waiter
            filling.cancel()
            raise
        if not filling.done():
            self._let_finish(filling)
            if stale is not None:
                self._stats.record(tier, LEVEL_REDIS, "stale")
                return source.shape(stale.value)
            self._stats.record(tier, LEVEL_REDIS, "late")
            raise UpstreamSlow(f"no answer for {redis_key} in time; the fetch goes on and its answer will be cached")
        try:
            entry = filling.result()
        except Exception as error:
            if stale is None:
                raise
            log.info("upstream failed, serving stale copy", extra={"key": redis_key, "error": repr(error)[:300]})
            self._stats.record(tier, LEVEL_REDIS, "stale")
            return source.shape(stale.value)
        entry = shaped(entry, source.shape)
        self._l1.put(redis_key, entry, tier, symbol)
        return entry.value

    async def _fetch_and_store(self, tier: Tier, lock: FillLock, source: Source, stale: Entry | None) -> Entry:
        """Call the upstream holding the lock (lease renewed), write the entry and release the lock."""
        try:
            async with lock.kept_alive():
                value = await source.load(stale, self._clock())
        except Exception as error:
            self._stats.record(tier, LEVEL_REDIS, "error")
            # Waiters hear of the failure only when they have no stale copy to fall back on.
            reason = f"{type(error).__name__}: {error}"[:300] if stale is None else None
            with contextlib.suppress(*RETRYABLE_ERRORS):
                await lock.release(release_event(lock.entry_key, reason))
            raise
        except BaseException:
            # Cancelled: free the lock without a failure, so a waiter takes over the fill.
            with contextlib.suppress(*RETRYABLE_ERRORS):
                await lock.release(release_event(lock.entry_key, None))
            raise
        entry = self.new_entry(tier, value, source.fresh_until)
        await lock.fill(entry.encode(), self.ttl_ms(tier, entry), fill_event(lock.entry_key))
        self._stats.record(tier, LEVEL_REDIS, "fill")
        return entry

    def _let_finish(self, filling: asyncio.Task[Entry]) -> None:
        self._background.add(filling)

        def done(task: asyncio.Task[Entry]) -> None:
            self._background.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.info("late fill failed: %s", repr(task.exception())[:300])

        filling.add_done_callback(done)
