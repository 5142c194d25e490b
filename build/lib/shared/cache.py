"""The tiered cache every service shares through Redis, with a small in-process L1 in front.

A read walks these steps, and stops at the first that answers:

1. **L1** (this process): a fresh copy younger than ``l1_ttl``.
2. **In-process single-flight**: another coroutine of this process is already loading the key; join it.
3. **Redis** (``GET``): a fresh entry.
4. **Lock or join** (one Lua round trip: ``SET lock NX`` + ``GET``): the lock holder calls the upstream
   and writes the entry; everyone else either serves the stale copy at once (stale-while-revalidate)
   or, when there is none, waits for the holder's fill, woken by a pub/sub event (polling as a
   fallback), so N callers in M processes cause one upstream call.
5. **Stale-if-error**: when the upstream raises and a stale copy exists, the stale copy is served.

Every entry is stored as ``[fresh_until_ms, fetched_at_ms, value]`` (compact JSON) with a Redis TTL of
fresh + stale window, so each cache key expires by itself and can live in an LRU-evicting Redis.
Values must be JSON-serialisable and must not be mutated by callers (L1 hands out shared objects).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter as Tally
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import orjson
from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from shared import keys, metrics
from shared.errors import UpstreamUnavailable
from shared.redis_client import RETRYABLE_ERRORS
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

CACHE_REQUESTS = Counter(
    metrics.name("cache_requests_total"),
    "Cache lookups by tier, level and outcome (hit, miss, stale, join, fill, error)",
    ["tier", "level", "outcome"],
)
CACHE_ENTRIES = Gauge(metrics.name("cache_entries"), "Entries in the cache by tier and level", ["tier", "level"])
L1_EVICTIONS = Counter(metrics.name("cache_l1_evictions_total"), "Entries pushed out of a full L1", ["tier"])

# Outcomes recorded per level. "l1": hit | miss | join (another coroutine here loaded it).
# "redis": hit | stale (stale copy served) | join (another process filled it) | fill (we called upstream) |
#          error (our upstream call failed) | join_failed (the process we waited on failed).
LEVEL_L1 = "l1"
LEVEL_REDIS = "redis"

POLL_INTERVAL_S = 0.05
STATS_FLUSH_INTERVAL_S = 1.0
ENTRY_SCAN_LIMIT = 200_000

# SET the lock if free, and return the entry as it is now: one round trip decides leader or follower.
_ACQUIRE_OR_GET = """
local acquired = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
local entry = redis.call('GET', KEYS[1])
if acquired then return {1, entry} end
return {0, entry}
"""
# Write the entry, tell waiters, and release the lock only if it is still ours.
_FILL = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""


class Tier(StrEnum):
    PRICE = "price"
    OHLCV = "ohlcv"
    MARKET = "market"
    TECHNICAL = "technical"
    GLOBAL = "global"


@dataclass(frozen=True)
class TierPolicy:
    fresh_s: float
    stale_s: float


@dataclass(frozen=True)
class CacheConfig:
    tiers: dict[Tier, TierPolicy]
    prefix: str = "tp"
    l1_max_entries: int = 10_000
    l1_ttl_s: float = 2.0
    lock_ttl_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> CacheConfig:
        fresh = {
            Tier.PRICE: settings.cache_ttl_price_s,
            Tier.OHLCV: settings.cache_ttl_ohlcv_s,
            Tier.MARKET: settings.cache_ttl_market_s,
            Tier.TECHNICAL: settings.cache_ttl_technical_s,
            Tier.GLOBAL: settings.cache_ttl_global_s,
        }
        return cls(
            tiers={tier: TierPolicy(ttl, ttl * settings.cache_stale_factor) for tier, ttl in fresh.items()},
            prefix=settings.cache_key_prefix,
            l1_max_entries=settings.cache_l1_max_entries,
            l1_ttl_s=settings.cache_l1_ttl_s,
            lock_ttl_s=settings.cache_lock_ttl_s,
        )


@dataclass(frozen=True)
class Entry:
    fresh_until: float
    fetched_at: float
    value: Any

    def is_fresh(self, now: float) -> bool:
        return now < self.fresh_until

    def encode(self) -> bytes:
        return orjson.dumps([int(self.fresh_until * 1000), int(self.fetched_at * 1000), self.value])

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        fresh_ms, fetched_ms, value = orjson.loads(raw)
        return cls(fresh_ms / 1000, fetched_ms / 1000, value)


@dataclass
class _FillSignal:
    """Set when the lock holder for a key publishes; ``failure`` says why when its fetch failed."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    failure: str | None = None


@dataclass
class _L1Item:
    entry: Entry
    expires: float
    tier: Tier
    symbol: str


Shape = Callable[[Any], Any]


def _as_is(value: Any) -> Any:
    return value


def _shaped(entry: Entry, shape: Shape) -> Entry:
    return entry if shape is _as_is else replace(entry, value=shape(entry.value))


def _symbol_part(symbol: str | None) -> str:
    return symbol if symbol else "_"


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


OUTCOMES_BY_LEVEL = {
    LEVEL_L1: ("hit", "miss", "join"),
    LEVEL_REDIS: ("hit", "stale", "join", "fill", "error", "join_failed"),
}


class _Stats:
    """Counters kept locally, mirrored to Prometheus at once and to a Redis hash every second."""

    def __init__(self) -> None:
        # Labelled children looked up once: ``labels()`` on every read cost as much as an L1 hit itself.
        self._counters = {
            (tier.value, level, outcome): CACHE_REQUESTS.labels(tier.value, level, outcome)
            for tier in Tier
            for level, outcomes in OUTCOMES_BY_LEVEL.items()
            for outcome in outcomes
        }
        for tier in Tier:
            L1_EVICTIONS.labels(tier.value)
        self.totals: Tally[tuple[str, str, str]] = Tally()
        self.unflushed: Tally[tuple[str, str, str]] = Tally()

    def record(self, tier: Tier, level: str, outcome: str) -> None:
        key = (tier.value, level, outcome)
        self.totals[key] += 1
        self.unflushed[key] += 1
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = CACHE_REQUESTS.labels(*key)
        counter.inc()

    def take_unflushed(self) -> Tally[tuple[str, str, str]]:
        taken, self.unflushed = self.unflushed, Tally()
        return taken


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
        self._l1: OrderedDict[str, _L1Item] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Any]] = {}
        self._fill_events: dict[str, _FillSignal] = {}
        self._l1_evictions = 0
        self._stats = _Stats()
        self._channel = keys.cache_events_channel(config.prefix)
        self._acquire_or_get = redis.register_script(_ACQUIRE_OR_GET)
        self._fill_script = redis.register_script(_FILL)
        self._release_script = redis.register_script(_RELEASE)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    # -- public API ------------------------------------------------------------------------------

    async def get_or_fetch(
        self,
        tier: Tier,
        key: str,
        fetch: Callable[[], Awaitable[Any]],
        *,
        symbol: str | None = None,
        shape: Shape | None = None,
    ) -> Any:
        """The value of ``key`` in ``tier``, calling ``fetch`` only when no process holds a usable copy.

        ``shape`` turns a loaded value into the form kept in L1 and returned, once per load rather
        than once per read (the gateway keeps candle rows as tuples: immutable, and untracked by the
        garbage collector, whose full passes over lists of lists stalled services for 100 ms).
        """
        redis_key = self.redis_key(tier, key, symbol)
        item = self._l1_get(redis_key)
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
            value = await self._load(tier, redis_key, _symbol_part(symbol), fetch, shape or _as_is)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # joiners get it; nobody else needs to retrieve it
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._loading[redis_key]

    async def peek(self, tier: Tier, key: str, *, symbol: str | None = None) -> Entry | None:
        """The stored entry, fresh or stale, without calling anything upstream."""
        raw = await self._redis.get(self.redis_key(tier, key, symbol))
        return Entry.decode(raw) if raw else None

    async def put(self, tier: Tier, key: str, value: Any, *, symbol: str | None = None) -> None:
        """Store a value obtained elsewhere (e.g. one batched call that answers many keys)."""
        redis_key = self.redis_key(tier, key, symbol)
        entry = self._new_entry(tier, value)
        await self._redis.set(redis_key, entry.encode(), px=self._ttl_ms(tier))
        self._l1_put(redis_key, entry, tier, _symbol_part(symbol))

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
        event = {"op": "invalidate", "tier": tier.value if tier else None, "symbol": symbol}
        await self._redis.publish(self._channel, orjson.dumps(event))
        self._l1_invalidate(tier.value if tier else None, symbol)
        return deleted

    def redis_key(self, tier: Tier, key: str, symbol: str | None = None) -> str:
        return keys.cache_entry(self.config.prefix, tier.value, f"{_symbol_part(symbol)}|{key}")

    def local_stats(self) -> dict[str, dict[str, dict[str, int]]]:
        """This process's counters as ``{tier: {level: {outcome: n}}}``."""
        return _nest(self._stats.totals.items())

    async def stats(self) -> dict[str, Any]:
        """Counters of every process (as last flushed to Redis), entries per tier, Redis evictions."""
        await self.flush_stats()
        raw: dict[bytes, bytes] = await self._redis.hgetall(keys.cache_stats(self.config.prefix))  # type: ignore[misc]
        counts: list[tuple[tuple[str, str, str], int]] = []
        for field_name, n in raw.items():
            parts = field_name.decode().split(":", 2)
            if len(parts) == 3:
                counts.append(((parts[0], parts[1], parts[2]), int(n)))
        tiers = _nest(counts)
        entries = await self.count_entries()
        info = await self._redis.info("stats")
        summary = {}
        for tier in Tier:
            levels = tiers.get(tier.value, {})
            summary[tier.value] = _tier_summary(levels, entries.get(tier, 0), self._l1_count(tier))
        return {
            "tiers": summary,
            "overall": _overall(summary),
            "redis": {
                "evicted_keys": int(info.get("evicted_keys", 0)),
                "expired_keys": int(info.get("expired_keys", 0)),
            },
            "l1_evictions": self._l1_evictions,
        }

    async def count_entries(self) -> dict[Tier, int]:
        counts: Tally[Tier] = Tally()
        seen = 0
        prefix_len = len(keys.cache_pattern(self.config.prefix, "", "")) - 1
        async for found in self._redis.scan_iter(match=keys.cache_pattern(self.config.prefix), count=1000):
            tier_name = found.decode()[prefix_len:].split(":", 1)[0]
            with contextlib.suppress(ValueError):
                counts[Tier(tier_name)] += 1
            seen += 1
            if seen >= ENTRY_SCAN_LIMIT:
                break
        for tier in Tier:
            CACHE_ENTRIES.labels(tier.value, LEVEL_REDIS).set(counts[tier])
            CACHE_ENTRIES.labels(tier.value, LEVEL_L1).set(self._l1_count(tier))
        return dict(counts)

    async def flush_stats(self) -> None:
        pending = self._stats.take_unflushed()
        if not pending:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for (tier, level, outcome), n in pending.items():
                    pipe.hincrby(keys.cache_stats(self.config.prefix), f"{tier}:{level}:{outcome}", n)
                await pipe.execute()
        except RETRYABLE_ERRORS:
            self._stats.unflushed.update(pending)  # keep them for the next flush

    async def reset_stats(self) -> None:
        self._stats = _Stats()
        await self._redis.delete(keys.cache_stats(self.config.prefix))

    # -- component lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="cache-events"),
            asyncio.create_task(self._flush_periodically(), name="cache-stats-flush"),
        ]
        # Wait briefly for the subscription so fills right after start wake our waiters.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 2.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        with contextlib.suppress(*RETRYABLE_ERRORS):
            await self.flush_stats()

    async def ready(self) -> str | None:
        return None if self._listening.is_set() else "cache event subscription not established"

    # -- loading -------------------------------------------------------------------------------

    async def _load(
        self, tier: Tier, redis_key: str, symbol: str, fetch: Callable[[], Awaitable[Any]], shape: Shape
    ) -> Any:
        raw = await self._redis.get(redis_key)
        now = self._clock()
        if raw is not None:
            current = Entry.decode(raw)
            if current.is_fresh(now):
                return self._hit(tier, redis_key, symbol, current, "hit", shape)
        deadline = time.monotonic() + self.config.lock_ttl_s * 2
        while True:
            token = uuid.uuid4().hex
            lock_key = keys.cache_lock(self.config.prefix, tier.value, redis_key)
            acquired, raw = await self._acquire_or_get(
                keys=[redis_key, lock_key], args=[token, int(self.config.lock_ttl_s * 1000)]
            )
            entry = Entry.decode(raw) if raw else None
            if entry is not None and entry.is_fresh(self._clock()):
                if acquired:
                    await self._release(lock_key, token, redis_key)
                return self._hit(tier, redis_key, symbol, entry, "join", shape)
            if acquired:
                return await self._fill(tier, redis_key, symbol, lock_key, token, fetch, shape, stale=entry)
            if entry is not None:
                # Someone else refreshes it: serve the stale copy now rather than wait.
                return self._hit(tier, redis_key, symbol, entry, "stale", shape)
            if time.monotonic() > deadline:
                self._stats.record(tier, LEVEL_REDIS, "join_failed")
                raise UpstreamUnavailable(f"timed out waiting for another process to fill {redis_key}")
            failure = await self._wait_for_fill(redis_key)
            if failure is not None:
                self._stats.record(tier, LEVEL_REDIS, "join_failed")
                raise UpstreamUnavailable(f"upstream failed for {redis_key}: {failure}")

    def _hit(self, tier: Tier, redis_key: str, symbol: str, entry: Entry, outcome: str, shape: Shape) -> Any:
        self._stats.record(tier, LEVEL_REDIS, outcome)
        entry = _shaped(entry, shape)
        if outcome != "stale":
            self._l1_put(redis_key, entry, tier, symbol)
        return entry.value

    async def _fill(
        self,
        tier: Tier,
        redis_key: str,
        symbol: str,
        lock_key: str,
        token: str,
        fetch: Callable[[], Awaitable[Any]],
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
                await self._release(lock_key, token, redis_key, failure=None if stale else reason)
            if stale is not None:
                log.info("upstream failed, serving stale copy", extra={"key": redis_key, "error": reason})
                self._stats.record(tier, LEVEL_REDIS, "stale")
                return shape(stale.value)
            raise
        except BaseException:
            # Cancelled: free the lock without a failure, so a waiter takes over the fill.
            with contextlib.suppress(*RETRYABLE_ERRORS):
                await self._release(lock_key, token, redis_key)
            raise
        entry = self._new_entry(tier, value)
        event = orjson.dumps({"op": "filled", "key": redis_key})
        await self._fill_script(
            keys=[redis_key, lock_key], args=[entry.encode(), self._ttl_ms(tier), token, self._channel, event]
        )
        self._stats.record(tier, LEVEL_REDIS, "fill")
        entry = _shaped(entry, shape)
        self._l1_put(redis_key, entry, tier, symbol)
        return entry.value

    async def _release(self, lock_key: str, token: str, redis_key: str, failure: str | None = None) -> None:
        event = (
            {"op": "failed", "key": redis_key, "error": failure} if failure else {"op": "released", "key": redis_key}
        )
        await self._release_script(keys=[lock_key], args=[token, self._channel, orjson.dumps(event)])

    async def _wait_for_fill(self, redis_key: str) -> str | None:
        """Sleep until the key's holder publishes (or a poll interval passes); the failure reason if it failed."""
        signal = self._fill_events.setdefault(redis_key, _FillSignal())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.event.wait(), POLL_INTERVAL_S)
        if signal.event.is_set() and self._fill_events.get(redis_key) is signal:
            del self._fill_events[redis_key]
        return signal.failure

    def _new_entry(self, tier: Tier, value: Any) -> Entry:
        now = self._clock()
        return Entry(now + self.config.tiers[tier].fresh_s, now, value)

    def _ttl_ms(self, tier: Tier) -> int:
        policy = self.config.tiers[tier]
        return max(1, int((policy.fresh_s + policy.stale_s) * 1000))

    # -- L1 ------------------------------------------------------------------------------------

    def _l1_get(self, redis_key: str) -> _L1Item | None:
        item = self._l1.get(redis_key)
        if item is None:
            return None
        if item.expires <= self._clock():
            del self._l1[redis_key]
            return None
        self._l1.move_to_end(redis_key)
        return item

    def _l1_put(self, redis_key: str, entry: Entry, tier: Tier, symbol: str) -> None:
        if self.config.l1_max_entries <= 0 or self.config.l1_ttl_s <= 0:
            return
        expires = min(entry.fresh_until, self._clock() + self.config.l1_ttl_s)
        self._l1[redis_key] = _L1Item(entry, expires, tier, symbol)
        self._l1.move_to_end(redis_key)
        while len(self._l1) > self.config.l1_max_entries:
            _, evicted = self._l1.popitem(last=False)
            L1_EVICTIONS.labels(evicted.tier.value).inc()
            self._l1_evictions += 1

    def _l1_invalidate(self, tier: str | None, symbol: str | None) -> None:
        doomed = [
            key
            for key, item in self._l1.items()
            if (tier is None or item.tier.value == tier) and (symbol is None or item.symbol == symbol)
        ]
        for key in doomed:
            del self._l1[key]

    def _l1_count(self, tier: Tier) -> int:
        return sum(1 for item in self._l1.values() if item.tier == tier)

    # -- background ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = 0.05
        while True:
            pubsub: PubSub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                # Invalidations may have been missed while unsubscribed: start from an empty L1.
                self._l1.clear()
                self._listening.set()
                backoff = 0.05
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._on_event(message["data"])
            except Exception as error:  # keep listening whatever happens; L1 is emptied on resubscribe
                self._listening.clear()
                log.warning("cache event subscription lost: %s", type(error).__name__)
                await asyncio.sleep(backoff)
                backoff = min(2.0, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _on_event(self, data: bytes) -> None:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if event.get("op") == "invalidate":
            self._l1_invalidate(event.get("tier"), event.get("symbol"))
            return
        signal = self._fill_events.get(event.get("key", ""))
        if signal is not None:
            if event.get("op") == "failed":
                signal.failure = str(event.get("error") or "unknown error")
            signal.event.set()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(STATS_FLUSH_INTERVAL_S)
            with contextlib.suppress(*RETRYABLE_ERRORS):
                await self.flush_stats()


def _nest(items: Iterable[tuple[tuple[str, str, str], int]]) -> dict[str, dict[str, dict[str, int]]]:
    nested: dict[str, dict[str, dict[str, int]]] = {}
    for (tier, level, outcome), n in items:
        nested.setdefault(tier, {}).setdefault(level, {})[outcome] = n
    return nested


def _tier_summary(levels: dict[str, dict[str, int]], redis_entries: int, l1_entries: int) -> dict[str, Any]:
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


def _overall(tiers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    requests = sum(t["requests"] for t in tiers.values())
    upstream = sum(t["upstream_calls"] for t in tiers.values())
    return {
        "requests": requests,
        "upstream_calls": upstream,
        "calls_saved": requests - upstream,
        "hit_rate": round(1 - upstream / requests, 6) if requests else 0.0,
        "stale_served": sum(t["redis"]["stale_served"] for t in tiers.values()),
    }
