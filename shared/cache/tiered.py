"""TieredCache: the cache's public face, a service component.

A read first looks in this process's L1, then joins a load of the same key already running in this
process (in-process single-flight), and only then goes to :class:`~shared.cache.read_path.ReadPath`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from shared import keys
from shared.cache.events import CacheEvents
from shared.cache.l1 import L1
from shared.cache.model import CacheConfig, Entry, FreshUntil, Refresh, Shape, Source, Tier, as_is, symbol_part
from shared.cache.read_path import ReadPath
from shared.cache.stats import LEVEL_L1, CacheStats, overall, tier_summary
from shared.redis_client import RETRYABLE_ERRORS

STATS_FLUSH_INTERVAL_S = 1.0


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class TieredCache:
    """Shared cache with TTL tiers, L1, cross-process single-flight and stale serving.

    It is a service component: ``start()`` runs the pub/sub listener (wake-ups and L1 invalidation)
    and the stats flusher; without ``start()`` it still works, waiters simply poll.
    """

    name = "cache"

    def __init__(self, redis: Redis, config: CacheConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self.config = config
        self._clock = clock
        self.l1 = L1(config.l1_max_entries, config.l1_ttl_s, clock)
        self._stats = CacheStats(redis, config.prefix)
        self.events = CacheEvents(redis, config.prefix, self.l1)
        self._read = ReadPath(redis, config, clock, self.l1, self._stats, self.events)
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # -- reads and writes ----------------------------------------------------------------------

    async def get_or_fetch(
        self,
        tier: Tier,
        key: str,
        fetch: Callable[[], Awaitable[Any]],
        *,
        symbol: str | None = None,
        shape: Shape | None = None,
        wait_s: float | None = None,
        refresh: Refresh | None = None,
        fresh_until: FreshUntil | None = None,
    ) -> Any:
        """The value of ``key`` in ``tier``, calling ``fetch`` only when no process holds a usable copy.

        ``shape`` turns a loaded value into the form kept in L1 and returned, once per load rather
        than once per read (the gateway keeps candle rows as tuples: immutable, and untracked by the
        garbage collector, whose full passes over lists of lists stalled services for 100 ms).
        ``wait_s`` bounds the caller's wait: past it, the stale copy or :class:`UpstreamSlow`, while the
        fetch goes on holding the lock and stores its answer for the next reader. ``refresh`` replaces
        ``fetch`` when a stale copy exists (given its value: e.g. fetch only the candles since), and
        ``fresh_until`` says until when a loaded value is fresh (default: the tier's TTL).
        """
        redis_key = self.redis_key(tier, key, symbol)
        item = self.l1.get(redis_key)
        if item is not None:
            self._stats.record(tier, LEVEL_L1, "hit")
            return item.entry.value
        pending = self._loading.get(redis_key)
        if pending is not None:
            self._stats.record(tier, LEVEL_L1, "join")
            return await asyncio.shield(pending)
        self._stats.record(tier, LEVEL_L1, "miss")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[redis_key] = future
        try:
            source = Source(fetch, shape or as_is, refresh, fresh_until)
            value = await self._read.load(tier, redis_key, symbol_part(symbol), source, wait_s)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # joiners get it; nobody else needs to retrieve it
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._loading[redis_key]

    def cached(self, tier: Tier, key: str, *, symbol: str | None = None) -> Any | None:
        """The value when this process's L1 holds it fresh, else None: no await, for hot paths that try
        L1 before building a fetch (a miss is counted by the ``get_or_fetch`` that follows)."""
        item = self.l1.get(self.redis_key(tier, key, symbol))
        if item is None:
            return None
        self._stats.record(tier, LEVEL_L1, "hit")
        return item.entry.value

    async def peek(self, tier: Tier, key: str, *, symbol: str | None = None) -> Entry | None:
        """The stored entry, fresh or stale, without calling anything upstream."""
        raw = await self._redis.get(self.redis_key(tier, key, symbol))
        return Entry.decode(raw) if raw else None

    async def put(self, tier: Tier, key: str, value: Any, *, symbol: str | None = None) -> None:
        """Store a value obtained elsewhere (e.g. one batched call that answers many keys)."""
        redis_key = self.redis_key(tier, key, symbol)
        entry = self._read.new_entry(tier, value)
        await self._redis.set(redis_key, entry.encode(), px=self._read.ttl_ms(tier, entry))
        self.l1.put(redis_key, entry, tier, symbol_part(symbol))

    async def invalidate(self, *, tier: Tier | None = None, symbol: str | None = None) -> int:
        """Delete entries of a tier, of a symbol, of both, or all; other processes drop their L1 too."""
        pattern = keys.cache_pattern(
            self.config.prefix,
            tier.value if tier else "*",
            f"{_glob_escape(symbol)}|*" if symbol else "*",
        )
        deleted = 0
        batch: list[bytes] = []
        async for found in self._redis.scan_iter(match=pattern, count=1000):
            batch.append(found)
            if len(batch) >= 500:
                deleted += await self._redis.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await self._redis.unlink(*batch)
        await self.events.publish_invalidation(tier.value if tier else None, symbol)
        return deleted

    def redis_key(self, tier: Tier, key: str, symbol: str | None = None) -> str:
        return keys.cache_entry(self.config.prefix, tier.value, f"{symbol_part(symbol)}|{key}")

    # -- statistics ----------------------------------------------------------------------------

    def local_stats(self) -> dict[str, dict[str, dict[str, int]]]:
        """This process's counters as ``{tier: {level: {outcome: n}}}``."""
        return self._stats.local()

    async def stats(self) -> dict[str, Any]:
        """Counters of every process (as last flushed to Redis), entries per tier, Redis evictions."""
        await self.flush_stats()
        tiers = await self._stats.shared()
        entries = await self.count_entries()
        info = await self._redis.info("stats")
        summary = {
            tier.value: tier_summary(tiers.get(tier.value, {}), entries.get(tier, 0), self.l1.count(tier))
            for tier in Tier
        }
        return {
            "tiers": summary,
            "overall": overall(summary),
            "redis": {
                "evicted_keys": int(info.get("evicted_keys", 0)),
                "expired_keys": int(info.get("expired_keys", 0)),
            },
            "l1_evictions": self.l1.evictions,
        }

    async def count_entries(self) -> dict[Tier, int]:
        return await self._stats.count_entries({tier: self.l1.count(tier) for tier in Tier})

    async def flush_stats(self) -> None:
        await self._stats.flush()

    async def reset_stats(self) -> None:
        await self._stats.reset()

    # -- component lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.events.listen(), name="cache-events"),
            asyncio.create_task(self._flush_periodically(), name="cache-stats-flush"),
        ]
        # Wait briefly for the subscription so fills right after start wake our waiters.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.events.listening.wait(), 2.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._read.close()
        with contextlib.suppress(*RETRYABLE_ERRORS):
            await self.flush_stats()

    async def ready(self) -> str | None:
        return None if self.events.listening.is_set() else "cache event subscription not established"

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(STATS_FLUSH_INTERVAL_S)
            with contextlib.suppress(*RETRYABLE_ERRORS):
                await self.flush_stats()
