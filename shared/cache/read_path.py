"""The read path below L1: Redis, the fill lock, waiting for another process's fill, stale serving.

After L1 and the in-process single-flight (see :mod:`shared.cache.tiered`), a read goes:

1. Redis ``GET``: a fresh entry is a hit.
2. Lock or join (one Lua round trip): the lock holder calls the upstream and writes the entry;
   everyone else serves the stale copy at once when there is one (stale-while-revalidate), or waits
   for the holder's fill, woken by a pub/sub event (polling as a fallback).
3. Stale-if-error: when the upstream raises and a stale copy exists, the stale copy is served.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from shared.cache.events import CacheEvents, fill_event, release_event
from shared.cache.l1 import L1
from shared.cache.lock import FillLock, LockScripts
from shared.cache.model import CacheConfig, Entry, Shape, Tier, shaped
from shared.cache.stats import LEVEL_REDIS, CacheStats
from shared.errors import UpstreamUnavailable
from shared.redis_client import RETRYABLE_ERRORS

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05
Fetch = Callable[[], Awaitable[Any]]


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

    async def load(self, tier: Tier, redis_key: str, symbol: str, fetch: Fetch, shape: Shape) -> Any:
        raw = await self._redis.get(redis_key)
        if raw is not None:
            current = Entry.decode(raw)
            if current.is_fresh(self._clock()):
                return self._hit(tier, redis_key, symbol, current, "hit", shape)
        deadline = time.monotonic() + self._config.lock_ttl_s * 2
        while True:
            lock = FillLock(
                self._scripts, self._config.prefix, tier.value, redis_key, self._events.channel, self._config.lock_ttl_s
            )
            acquired, raw = await lock.acquire_or_get()
            entry = Entry.decode(raw) if raw else None
            if entry is not None and entry.is_fresh(self._clock()):
                if acquired:
                    await lock.release(release_event(redis_key, None))
                return self._hit(tier, redis_key, symbol, entry, "join", shape)
            if acquired:
                return await self._fill(tier, redis_key, symbol, lock, fetch, shape, stale=entry)
            if entry is not None:
                # Someone else refreshes it: serve the stale copy now rather than wait.
                return self._hit(tier, redis_key, symbol, entry, "stale", shape)
            if time.monotonic() > deadline:
                self._stats.record(tier, LEVEL_REDIS, "join_failed")
                raise UpstreamUnavailable(f"timed out waiting for another process to fill {redis_key}")
            failure = await self._events.wait_for_fill(redis_key, POLL_INTERVAL_S)
            if failure is not None:
                self._stats.record(tier, LEVEL_REDIS, "join_failed")
                raise UpstreamUnavailable(f"upstream failed for {redis_key}: {failure}")

    def new_entry(self, tier: Tier, value: Any) -> Entry:
        now = self._clock()
        return Entry(now + self._config.tiers[tier].fresh_s, now, value)

    def ttl_ms(self, tier: Tier) -> int:
        policy = self._config.tiers[tier]
        return max(1, int((policy.fresh_s + policy.stale_s) * 1000))

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
        fetch: Fetch,
        shape: Shape,
        *,
        stale: Entry | None,
    ) -> Any:
        try:
            value = await fetch()
        except Exception as error:
            self._stats.record(tier, LEVEL_REDIS, "error")
            reason = f"{type(error).__name__}: {error}"[:300]
            with contextlib.suppress(*RETRYABLE_ERRORS):
                await lock.release(release_event(redis_key, None if stale else reason))
            if stale is not None:
                log.info("upstream failed, serving stale copy", extra={"key": redis_key, "error": reason})
                self._stats.record(tier, LEVEL_REDIS, "stale")
                return shape(stale.value)
            raise
        except BaseException:
            # Cancelled: free the lock without a failure, so a waiter takes over the fill.
            with contextlib.suppress(*RETRYABLE_ERRORS):
                await lock.release(release_event(redis_key, None))
            raise
        entry = self.new_entry(tier, value)
        await lock.fill(entry.encode(), self.ttl_ms(tier), fill_event(redis_key))
        self._stats.record(tier, LEVEL_REDIS, "fill")
        entry = shaped(entry, shape)
        self._l1.put(redis_key, entry, tier, symbol)
        return entry.value
