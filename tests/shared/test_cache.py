"""The tiered cache against a real Redis: tiers, L1, single-flight across processes, stale serving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from redis.asyncio import Redis

from devkit import stampede
from devkit.waits import eventually, gone
from shared import keys
from shared.cache import CacheConfig, Entry, Tier, TieredCache, TierPolicy
from shared.errors import UpstreamUnavailable
from shared.settings import ServiceSettings
from tests.helpers.cache import FakeClock, GatedUpstream, Upstream, make_config


def lock_key(cache: TieredCache, key: str, tier: Tier = Tier.PRICE) -> str:
    return keys.cache_lock(cache.config.prefix, tier.value, cache.redis_key(tier, key))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cache(redis: Redis, clock: FakeClock) -> AsyncIterator[TieredCache]:
    instance = TieredCache(redis, make_config(), clock=clock)
    await instance.start()
    yield instance
    await instance.stop()


def test_tier_ttls_come_from_settings() -> None:
    settings = ServiceSettings(cache_ttl_price_s=7, cache_stale_factor=3)
    config = CacheConfig.from_settings(settings)
    assert config.tiers[Tier.PRICE] == TierPolicy(7, 21)
    assert config.tiers[Tier.OHLCV].fresh_s == 300
    assert config.tiers[Tier.MARKET].fresh_s == 120
    assert config.tiers[Tier.TECHNICAL].fresh_s == 600
    assert config.tiers[Tier.GLOBAL].fresh_s == 900


async def test_miss_fills_then_hits_l1_and_redis(cache: TieredCache, redis: Redis) -> None:
    upstream = Upstream()
    assert await cache.get_or_fetch(Tier.PRICE, "BTC", lambda: upstream.fetch(101.5)) == 101.5
    assert await cache.get_or_fetch(Tier.PRICE, "BTC", lambda: upstream.fetch(0)) == 101.5
    other = TieredCache(redis, make_config())  # another process: empty L1, same Redis
    assert await other.get_or_fetch(Tier.PRICE, "BTC", lambda: upstream.fetch(0)) == 101.5
    assert upstream.calls == 1
    assert cache.local_stats()["price"] == {"l1": {"miss": 1, "hit": 1}, "redis": {"fill": 1}}
    assert other.local_stats()["price"] == {"l1": {"miss": 1}, "redis": {"hit": 1}}


async def test_entry_ttl_is_fresh_plus_stale_window(cache: TieredCache, redis: Redis) -> None:
    await cache.get_or_fetch(Tier.OHLCV, "k", lambda: Upstream().fetch([1, 2]), symbol="ETH")
    ttl_ms = await redis.pttl(cache.redis_key(Tier.OHLCV, "k", "ETH"))
    assert 300_000 < ttl_ms <= 330_000


async def test_values_are_stored_compactly(cache: TieredCache, redis: Redis) -> None:
    candles = [[1700000000000, 1.0, 2.0, 0.5, 1.5, 10.0]] * 3
    await cache.put(Tier.OHLCV, "1m", candles, symbol="BTC")
    raw = await redis.get(cache.redis_key(Tier.OHLCV, "1m", "BTC"))
    assert raw is not None
    fresh_until, _fetched_at, value = orjson.loads(raw)
    assert value == candles
    assert isinstance(fresh_until, int)
    assert b" " not in raw


async def test_l1_expires_after_its_own_ttl(redis: Redis, clock: FakeClock) -> None:
    cache = TieredCache(redis, make_config(l1_ttl_s=1.0), clock=clock)
    upstream = Upstream()
    await cache.get_or_fetch(Tier.PRICE, "x", lambda: upstream.fetch(1))
    clock.now += 1.5  # past L1's TTL, still fresh in Redis
    await cache.get_or_fetch(Tier.PRICE, "x", lambda: upstream.fetch(2))
    assert upstream.calls == 1
    assert cache.local_stats()["price"]["redis"] == {"fill": 1, "hit": 1}


async def test_l1_is_bounded_lru(redis: Redis) -> None:
    config = CacheConfig(tiers={t: TierPolicy(30, 0) for t in Tier}, l1_max_entries=5)
    cache = TieredCache(redis, config)
    for i in range(8):
        await cache.put(Tier.PRICE, f"k{i}", i)
    assert (await cache.stats())["l1_evictions"] == 3
    assert cache.l1.count(Tier.PRICE) == 5


async def test_concurrent_callers_in_one_process_share_one_fetch(cache: TieredCache) -> None:
    upstream = Upstream(delay_s=0.05)
    values = await asyncio.gather(*(cache.get_or_fetch(Tier.PRICE, "k", lambda: upstream.fetch(7)) for _ in range(50)))
    assert values == [7] * 50
    assert upstream.calls == 1
    assert cache.local_stats()["price"]["l1"]["join"] == 49


async def test_stale_served_while_upstream_raises(cache: TieredCache, clock: FakeClock) -> None:
    upstream = Upstream()
    await cache.get_or_fetch(Tier.PRICE, "k", lambda: upstream.fetch("old"))
    clock.now += 31  # past fresh, within the stale window
    upstream.failing = ConnectionError("exchange down")
    for _ in range(3):
        clock.now += 0.01
        assert await cache.get_or_fetch(Tier.PRICE, "k", lambda: upstream.fetch("new")) == "old"
    stats = cache.local_stats()["price"]["redis"]
    assert stats["stale"] == 3
    assert stats["error"] == 3
    upstream.failing = None
    assert await cache.get_or_fetch(Tier.PRICE, "k", lambda: upstream.fetch("new")) == "new"


async def test_upstream_error_without_stale_copy_reaches_the_caller(cache: TieredCache) -> None:
    upstream = Upstream()
    upstream.failing = ConnectionError("exchange down")
    with pytest.raises(ConnectionError):
        await cache.get_or_fetch(Tier.PRICE, "k", lambda: upstream.fetch(1))


async def test_stale_while_revalidate_serves_stale_to_others(redis: Redis, clock: FakeClock) -> None:
    first = TieredCache(redis, make_config(), clock=clock)
    second = TieredCache(redis, make_config(), clock=clock)
    await first.get_or_fetch(Tier.PRICE, "k", lambda: Upstream().fetch("v1"))
    clock.now += 40
    slow = GatedUpstream()
    refreshing = asyncio.create_task(first.get_or_fetch(Tier.PRICE, "k", lambda: slow.fetch("v2")))
    await eventually(lambda: redis.exists(lock_key(first, "k")), what="the refresh holds the lock")
    # Served while the refresh is still held at the gate: the stale copy, at once.
    assert await second.get_or_fetch(Tier.PRICE, "k", lambda: slow.fetch("v3")) == "v1"
    assert not refreshing.done()
    slow.gate.set()
    assert await refreshing == "v2"
    assert slow.calls == 1
    assert second.local_stats()["price"]["redis"] == {"stale": 1}


async def test_waiters_in_other_process_get_the_leaders_result(redis: Redis) -> None:
    leader = TieredCache(redis, make_config())
    follower = TieredCache(redis, make_config())
    await follower.start()
    slow = GatedUpstream()
    first = asyncio.create_task(leader.get_or_fetch(Tier.OHLCV, "k", lambda: slow.fetch([1, 2, 3])))
    await eventually(lambda: redis.exists(lock_key(leader, "k", Tier.OHLCV)), what="the leader holds the lock")
    following = asyncio.create_task(follower.get_or_fetch(Tier.OHLCV, "k", lambda: slow.fetch("never")))
    await eventually(lambda: follower.events.waiting(follower.redis_key(Tier.OHLCV, "k")), what="follower waits")
    slow.gate.set()
    assert await following == [1, 2, 3]
    assert await first == [1, 2, 3]
    assert slow.calls == 1
    assert follower.local_stats()["ohlcv"]["redis"] == {"join": 1}
    await follower.stop()


async def test_waiters_learn_of_the_leaders_failure(redis: Redis) -> None:
    leader = TieredCache(redis, make_config())
    follower = TieredCache(redis, make_config())
    await follower.start()
    failing = GatedUpstream()
    failing.failing = TimeoutError("exchange timeout")
    first = asyncio.create_task(leader.get_or_fetch(Tier.OHLCV, "k", lambda: failing.fetch(1)))
    await eventually(lambda: redis.exists(lock_key(leader, "k", Tier.OHLCV)), what="the leader holds the lock")
    following = asyncio.create_task(follower.get_or_fetch(Tier.OHLCV, "k", lambda: failing.fetch(1)))
    await eventually(lambda: follower.events.waiting(follower.redis_key(Tier.OHLCV, "k")), what="follower waits")
    failing.gate.set()
    with pytest.raises(UpstreamUnavailable, match="exchange timeout"):
        await following
    with pytest.raises(TimeoutError):
        await first
    assert failing.calls == 1
    await follower.stop()


async def test_invalidation_by_tier_symbol_and_all_clears_other_l1s(redis: Redis) -> None:
    here = TieredCache(redis, make_config(l1_ttl_s=60))
    there = TieredCache(redis, make_config(l1_ttl_s=60))
    await there.start()
    combos = [(tier, symbol) for tier in (Tier.PRICE, Tier.OHLCV) for symbol in ("BTC", "ETH")]
    for tier, symbol in combos:
        await there.put(tier, "k", f"{tier}-{symbol}", symbol=symbol)

    async def still_cached_there() -> set[tuple[Tier, str]]:
        await asyncio.sleep(0.1)  # let the invalidation event reach the other process
        kept = set()
        for tier, symbol in combos:
            upstream = Upstream()
            await there.get_or_fetch(tier, "k", lambda u=upstream: u.fetch("refetched"), symbol=symbol)
            if upstream.calls:
                await there.invalidate(tier=tier, symbol=symbol)  # undo the refetch
            else:
                kept.add((tier, symbol))
        return kept

    assert await here.invalidate(symbol="BTC") == 2
    assert await still_cached_there() == {(Tier.PRICE, "ETH"), (Tier.OHLCV, "ETH")}
    assert await here.invalidate(tier=Tier.OHLCV) == 1
    assert await still_cached_there() == {(Tier.PRICE, "ETH")}
    assert await here.invalidate() == 1
    assert await redis.keys("tp:cache:*") == []
    assert await still_cached_there() == set()
    await there.stop()


async def test_stats_aggregate_processes_and_report_entries(redis: Redis) -> None:
    one = TieredCache(redis, make_config())
    two = TieredCache(redis, make_config())
    await one.get_or_fetch(Tier.PRICE, "a", lambda: Upstream().fetch(1))
    await two.get_or_fetch(Tier.PRICE, "a", lambda: Upstream().fetch(1))
    await two.get_or_fetch(Tier.PRICE, "a", lambda: Upstream().fetch(1))
    await one.flush_stats()
    stats = await two.stats()
    price = stats["tiers"]["price"]
    assert price["requests"] == 3
    assert price["upstream_calls"] == 1
    assert price["hit_rate"] == pytest.approx(2 / 3, abs=1e-5)
    assert price["redis"]["entries"] == 1
    assert price["l1"]["hits"] == 1
    assert stats["overall"]["calls_saved"] == 2
    assert "evicted_keys" in stats["redis"]


async def test_three_processes_fifty_callers_twenty_expiring_keys(redis: Redis, redis_url: str) -> None:
    """3 processes x 50 callers on 20 keys that just expired: exactly 20 upstream calls."""
    seeded = TieredCache(redis, CacheConfig.from_settings(stampede.stampede_settings(redis_url, fresh_s=0.2)))
    for i in range(20):
        await seeded.put(Tier.PRICE, f"k{i}", "old")
    keys = [seeded.redis_key(Tier.PRICE, f"k{i}") for i in range(20)]
    await eventually(lambda: gone(redis, keys))  # the stampede starts once every copy has expired
    outputs = await asyncio.to_thread(stampede.run, "optimized", redis_url, 3, 50, 20)
    assert await redis.exists(seeded.redis_key(Tier.PRICE, "k0"))
    assert all(out["errors"] == [] for out in outputs), outputs
    assert [out["values"] for out in outputs] == [50 * 20] * 3
    assert int(await redis.get(stampede.UPSTREAM_COUNTER) or 0) == 20


def test_entry_roundtrip() -> None:
    entry = Entry(fresh_until=10.5, fetched_at=9.0, value={"a": [1, 2]})
    assert Entry.decode(entry.encode()) == entry
    assert entry.is_fresh(10.0)
    assert not entry.is_fresh(10.5)
