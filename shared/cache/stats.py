"""Cache statistics: per tier, level and outcome, kept locally, mirrored to Prometheus at once and
summed over every process in a Redis hash (flushed every second), which the monitor reports."""

from __future__ import annotations

import contextlib
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Gauge
from redis.asyncio import Redis

from shared import keys, metrics
from shared.cache.model import Tier
from shared.redis_client import RETRYABLE_ERRORS

CACHE_REQUESTS = Counter(
    metrics.name("cache_requests_total"),
    "Cache lookups by tier, level and outcome (hit, miss, stale, join, fill, error)",
    ["tier", "level", "outcome"],
)
CACHE_ENTRIES = Gauge(metrics.name("cache_entries"), "Entries in the cache by tier and level", ["tier", "level"])
L1_EVICTIONS = Counter(metrics.name("cache_l1_evictions_total"), "Entries pushed out of a full L1", ["tier"])

# Outcomes recorded per level. "l1": hit | miss | join (another coroutine here loaded it).
# "redis": hit | stale (stale copy served) | join (another process filled it) | fill (we called upstream) |
#          error (our upstream call failed) | join_failed (the holder we waited on failed, or was too slow) |
#          late (we hold the lock but stopped waiting for our fetch: it goes on in the background).
LEVEL_L1 = "l1"
LEVEL_REDIS = "redis"
OUTCOMES_BY_LEVEL = {
    LEVEL_L1: ("hit", "miss", "join"),
    LEVEL_REDIS: ("hit", "stale", "join", "fill", "error", "join_failed", "late"),
}
ENTRY_SCAN_LIMIT = 200_000

CounterKey = tuple[str, str, str]  # (tier, level, outcome)


class CacheStats:
    """This process's counters; ``flush`` adds what is new to the shared hash in Redis."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._hash = keys.cache_stats(prefix)
        self._prefix = prefix
        # Labelled children looked up once: ``labels()`` on every read cost as much as an L1 hit itself.
        self._counters = {
            (tier.value, level, outcome): CACHE_REQUESTS.labels(tier.value, level, outcome)
            for tier in Tier
            for level, outcomes in OUTCOMES_BY_LEVEL.items()
            for outcome in outcomes
        }
        self.totals: Tally[CounterKey] = Tally()
        self._unflushed: Tally[CounterKey] = Tally()

    def record(self, tier: Tier, level: str, outcome: str) -> None:
        key = (tier.value, level, outcome)
        self.totals[key] += 1
        self._unflushed[key] += 1
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = CACHE_REQUESTS.labels(*key)
        counter.inc()

    def local(self) -> dict[str, dict[str, dict[str, int]]]:
        """This process's counters as ``{tier: {level: {outcome: n}}}``."""
        return nest(self.totals.items())

    async def flush(self) -> None:
        pending, self._unflushed = self._unflushed, Tally()
        if not pending:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for (tier, level, outcome), n in pending.items():
                    pipe.hincrby(self._hash, f"{tier}:{level}:{outcome}", n)
                await pipe.execute()
        except RETRYABLE_ERRORS:
            self._unflushed.update(pending)  # keep them for the next flush

    async def reset(self) -> None:
        self.totals.clear()
        self._unflushed.clear()
        await self._redis.delete(self._hash)

    async def shared(self) -> dict[str, dict[str, dict[str, int]]]:
        """Every process's counters, as last flushed to Redis."""
        raw: dict[bytes, bytes] = await self._redis.hgetall(self._hash)  # type: ignore[misc]
        counts: list[tuple[CounterKey, int]] = []
        for field_name, n in raw.items():
            parts = field_name.decode().split(":", 2)
            if len(parts) == 3:
                counts.append(((parts[0], parts[1], parts[2]), int(n)))
        return nest(counts)

    async def count_entries(self, l1_count: dict[Tier, int]) -> dict[Tier, int]:
        """Entries per tier in Redis (by a bounded SCAN); sets the entries gauges of both levels."""
        counts: Tally[Tier] = Tally()
        seen = 0
        prefix_len = len(keys.cache_pattern(self._prefix, "", "")) - 1
        async for found in self._redis.scan_iter(match=keys.cache_pattern(self._prefix), count=1000):
            tier_name = found.decode()[prefix_len:].split(":", 1)[0]
            with contextlib.suppress(ValueError):
                counts[Tier(tier_name)] += 1
            seen += 1
            if seen >= ENTRY_SCAN_LIMIT:
                break
        for tier in Tier:
            CACHE_ENTRIES.labels(tier.value, LEVEL_REDIS).set(counts[tier])
            CACHE_ENTRIES.labels(tier.value, LEVEL_L1).set(l1_count.get(tier, 0))
        return dict(counts)


def nest(items: Iterable[tuple[CounterKey, int]]) -> dict[str, dict[str, dict[str, int]]]:
    nested: dict[str, dict[str, dict[str, int]]] = {}
    for (tier, level, outcome), n in items:
        nested.setdefault(tier, {}).setdefault(level, {})[outcome] = n
    return nested


def tier_summary(levels: dict[str, dict[str, int]], redis_entries: int, l1_entries: int) -> dict[str, Any]:
    l1 = levels.get(LEVEL_L1, {})
    l2 = levels.get(LEVEL_REDIS, {})
    requests = l1.get("hit", 0) + l1.get("miss", 0) + l1.get("join", 0)
    upstream = l2.get("fill", 0) + l2.get("error", 0)
    return {
        "requests": requests,
        "l1": {
            "hits": l1.get("hit", 0),
            "misses": l1.get("miss", 0),
            "joins": l1.get("join", 0),
            "entries": l1_entries,
        },
        "redis": {
            "hits": l2.get("hit", 0),
            "misses": l2.get("fill", 0) + l2.get("error", 0),
            "stale_served": l2.get("stale", 0),
            "joins": l2.get("join", 0),
            "fills": l2.get("fill", 0),
            "errors": l2.get("error", 0),
            "entries": redis_entries,
        },
        "upstream_calls": upstream,
        "hit_rate": round(1 - upstream / requests, 6) if requests else 0.0,
    }


def overall(tiers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    requests = sum(t["requests"] for t in tiers.values())
    upstream = sum(t["upstream_calls"] for t in tiers.values())
    return {
        "requests": requests,
        "upstream_calls": upstream,
        "calls_saved": requests - upstream,
        "hit_rate": round(1 - upstream / requests, 6) if requests else 0.0,
        "stale_served": sum(t["redis"]["stale_served"] for t in tiers.values()),
    }
