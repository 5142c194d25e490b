"""The fill lock's lease: a live holder keeps it however slow its fetch, a dead one frees it within a lease.

A holder process is SIGKILLed mid-fetch (devkit.stampede's ``hold`` role); slow fetches are held at a gate
the test opens. Every step waits for a condition (the lock exists, the lease was renewed, a caller waits),
never for a duration.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from devkit import processes, stampede
from devkit.waits import eventually, gone
from shared import keys
from shared.cache import CacheConfig, Tier, TieredCache
from shared.errors import UpstreamSlow
from tests.helpers.cache import FakeClock, GatedUpstream, Upstream, make_config

LEASE_S = 1.0
DEAD_HOLDER_BOUND_S = 4.0  # the 10 s lock that was never renewed made waiters wait 9.6 s


def lock_key(cache: TieredCache, key: str) -> str:
    return keys.cache_lock(cache.config.prefix, Tier.PRICE.value, cache.redis_key(Tier.PRICE, key))


class LeaseWatch:
    """Counts renewals of a lock by sampling its remaining time: a renewal makes it jump back up."""

    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key
        self._last = -1
        self.renewals = 0

    async def renewed(self, times: int) -> bool:
        ttl_ms = int(await self._redis.pttl(self._key))
        if ttl_ms > self._last >= 0:
            self.renewals += 1
        self._last = ttl_ms
        return self.renewals >= times


async def test_a_killed_holder_costs_waiters_one_lease(redis: Redis, redis_url: str) -> None:
    config = CacheConfig.from_settings(stampede.stampede_settings(redis_url))
    waiter = TieredCache(redis, config)
    await waiter.start()
    holder = processes.spawn(stampede.holder_args(redis_url, 1))
    try:
        held = lock_key(waiter, "k0")
        await eventually(lambda: redis.exists(held), what="the holder is mid-fetch")
        watch = LeaseWatch(redis, held)
        await eventually(lambda: watch.renewed(2), what="the live holder renews its lease")
        upstream = Upstream()
        reading = asyncio.create_task(waiter.get_or_fetch(Tier.PRICE, "k0", lambda: upstream.fetch("fresh")))
        await eventually(lambda: waiter.events.waiting(waiter.redis_key(Tier.PRICE, "k0")), what="the waiter waits")
        killed_at = time.monotonic()
        processes.kill(holder)
        assert await reading == "fresh"
        waited = time.monotonic() - killed_at
    finally:
        processes.kill(holder)
        await waiter.stop()
    assert upstream.calls == 1  # one more upstream call: the waiter's, once the dead holder's lease ran out
    assert int(await redis.get(stampede.UPSTREAM_COUNTER) or 0) == 1  # the dead holder's own
    # The default lease (2 s) plus a poll and the fetch; twice that leaves room for a busy machine.
    assert waited < DEAD_HOLDER_BOUND_S


async def test_a_slow_live_fetch_keeps_its_lock_and_nobody_fetches_twice(redis: Redis) -> None:
    holder = TieredCache(redis, make_config(lock_ttl_s=LEASE_S))
    waiter = TieredCache(redis, make_config(lock_ttl_s=LEASE_S))
    await waiter.start()
    slow = GatedUpstream()
    filling = asyncio.create_task(holder.get_or_fetch(Tier.PRICE, "k", lambda: slow.fetch("v")))
    await eventually(lambda: redis.exists(lock_key(holder, "k")), what="the holder is mid-fetch")
    waiting = asyncio.create_task(waiter.get_or_fetch(Tier.PRICE, "k", lambda: slow.fetch("second")))
    watch = LeaseWatch(redis, lock_key(holder, "k"))
    # Six renewals: the fetch has outlived its first lease twice over, and the waiter is still waiting.
    await eventually(lambda: watch.renewed(6), what="six renewals of the lease")
    assert not waiting.done()
    slow.gate.set()
    assert await filling == await waiting == "v"
    assert slow.calls == 1
    assert waiter.local_stats()["price"]["redis"] == {"join": 1}
    await waiter.stop()


async def test_past_its_wait_a_caller_gets_an_error_while_the_fetch_goes_on_holding_the_lock(redis: Redis) -> None:
    first = TieredCache(redis, make_config(lock_ttl_s=LEASE_S))
    other = TieredCache(redis, make_config(lock_ttl_s=LEASE_S))
    await other.start()
    slow = GatedUpstream()
    with pytest.raises(UpstreamSlow, match="the fetch goes on"):
        await first.get_or_fetch(Tier.PRICE, "k", lambda: slow.fetch("late"), wait_s=0.2)
    assert await redis.exists(lock_key(first, "k"))  # still held by the fetch that goes on
    same_process = asyncio.create_task(first.get_or_fetch(Tier.PRICE, "k", lambda: slow.fetch("second")))
    other_process = asyncio.create_task(other.get_or_fetch(Tier.PRICE, "k", lambda: slow.fetch("third")))
    await eventually(lambda: other.events.waiting(other.redis_key(Tier.PRICE, "k")), what="the other waits")
    slow.gate.set()
    assert await same_process == await other_process == "late"  # the late answer, stored for both
    assert slow.calls == 1
    assert first.local_stats()["price"]["redis"]["late"] == 1
    await other.stop()
    await first.stop()


async def test_past_its_wait_a_caller_gets_the_stale_copy(redis: Redis) -> None:
    clock = FakeClock()
    cache = TieredCache(redis, make_config(fresh_s=30, stale_s=300, lock_ttl_s=LEASE_S), clock=clock)
    await cache.put(Tier.PRICE, "k", "old")
    clock.now += 31  # stale now
    slow = GatedUpstream()
    assert await cache.get_or_fetch(Tier.PRICE, "k", lambda: slow.fetch("new"), wait_s=0.1) == "old"
    slow.gate.set()
    await eventually(lambda: gone(redis, [lock_key(cache, "k")]), what="the late fill ends")
    entry = await cache.peek(Tier.PRICE, "k")
    assert entry is not None and entry.value == "new"
    await cache.stop()


async def test_a_holder_whose_lease_lapsed_neither_renews_nor_overwrites_the_next_holder(redis: Redis) -> None:
    first = TieredCache(redis, make_config(lock_ttl_s=LEASE_S))
    second = TieredCache(redis, make_config(lock_ttl_s=LEASE_S))
    early, later = GatedUpstream(), GatedUpstream()
    held = lock_key(first, "k")
    stalled = asyncio.create_task(first.get_or_fetch(Tier.PRICE, "k", lambda: early.fetch("from-first")))
    await eventually(lambda: redis.exists(held), what="the first holder is mid-fetch")
    await redis.delete(held)  # its lease lapsed (a long pause, say)
    taking_over = asyncio.create_task(second.get_or_fetch(Tier.PRICE, "k", lambda: later.fetch("from-second")))
    await eventually(lambda: later.calls == 1, what="the second holder is mid-fetch")
    second_token = await redis.get(held)
    watch = LeaseWatch(redis, held)
    early.gate.set()
    assert await stalled == "from-first"  # its caller still gets what it fetched...
    assert await cache_value(first) is None  # ...but it did not write over the holder of the lock
    await eventually(lambda: watch.renewed(2), what="the second holder renews")
    assert await redis.get(held) == second_token
    later.gate.set()
    assert await taking_over == "from-second"
    assert await cache_value(first) == "from-second"
    await first.stop()
    await second.stop()


async def cache_value(cache: TieredCache) -> object:
    entry = await cache.peek(Tier.PRICE, "k")
    return None if entry is None else entry.value
