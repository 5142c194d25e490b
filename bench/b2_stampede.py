"""B2: processes x callers ask for the same keys at once, in three situations.

1. **Expired**: the keys were written with a short TTL and no stale window; once every copy has expired,
   the processes start their callers together (devkit/stampede.py): the worst case for a cache without
   single-flight. Ideal: one upstream call per key.
2. **Dead holder**: a process holds every key's fill lock with a fetch that never ends and is SIGKILLed
   as the callers start: they wait for its lease to lapse (2 s), then one of them fetches. Goal: callers
   wait at most 2.5 s (p99).
3. **Slow upstream**: every fetch takes 12 s, six times the lock's lease: the holders renew their
   leases, so still one upstream call per key, and the others wait for it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from bench.env import Env, Size, pct, progress
from devkit import processes, stampede
from devkit.stampede import UPSTREAM_COUNTER, stampede_settings
from devkit.waits import eventually, gone
from shared.cache import CacheConfig, Tier, TieredCache
from shared.redis_client import create_redis


async def _calls(redis: Redis) -> int:
    return int(await redis.get(UPSTREAM_COUNTER) or 0)


def _waits(outputs: list[dict[str, Any]], prefix: str = "") -> dict[str, Any]:
    waits = [w for out in outputs for w in out["waits"]]
    return {
        f"{prefix}reads": len(waits),
        f"{prefix}caller_errors": sum(len(out["errors"]) for out in outputs),
        f"{prefix}wait_ms_p50": round(pct(waits, 50) * 1000, 3),
        f"{prefix}wait_ms_p99": round(pct(waits, 99) * 1000, 3),
    }


async def expired(env: Env, size: Size, mode: str) -> dict[str, Any]:
    redis = create_redis(env.settings())
    await redis.flushdb()
    seeder = TieredCache(redis, CacheConfig.from_settings(stampede_settings(env.redis_server.url, fresh_s=0.5)))
    keys = [seeder.redis_key(Tier.PRICE, f"k{i}") for i in range(size.b2_keys)]
    for i in range(size.b2_keys):
        await seeder.put(Tier.PRICE, f"k{i}", "old")
    await eventually(lambda: gone(redis, keys))  # the callers start right after every copy expired
    outputs = await asyncio.to_thread(
        stampede.run, mode, env.redis_server.url, size.b2_processes, size.b2_callers, size.b2_keys
    )
    calls = await _calls(redis)
    await redis.aclose()
    result = {"upstream_calls": calls, **_waits(outputs)}
    progress(f"B2 {mode}: {calls} upstream calls for {size.b2_keys} keys, {result['caller_errors']} errors")
    return result


async def dead_holder(env: Env, size: Size) -> dict[str, Any]:
    url = env.redis_server.url
    redis = create_redis(env.settings())
    await redis.flushdb()
    holder = processes.spawn(stampede.holder_args(url, size.b2_keys))
    try:
        await eventually(lambda: _all_held(redis, size.b2_keys), what="the holder holds every lock")
        waiting = asyncio.create_task(
            asyncio.to_thread(stampede.run, "optimized", url, size.b2_processes, size.b2_callers, size.b2_keys)
        )
        await eventually(lambda: _all_in(redis, size.b2_processes), what="the callers at the start line")
        processes.kill(holder)  # as the callers start: each first read finds a lock held by a dead process
        outputs = await waiting
    finally:
        processes.kill(holder)
    calls = await _calls(redis) - size.b2_keys  # the callers' own, past the dead holder's
    await redis.aclose()
    result = {"dead_holder_upstream_calls": calls, **_waits(outputs, "dead_holder_")}
    progress(f"B2 dead holder: callers waited {result['dead_holder_wait_ms_p99']:.0f} ms (p99), {calls} calls")
    return result


async def _all_held(redis: Redis, keys: int) -> bool:
    return await _calls(redis) >= keys


async def _all_in(redis: Redis, parties: int) -> bool:
    return int(await redis.get(stampede.BARRIER) or 0) >= parties


async def slow_upstream(env: Env, size: Size) -> dict[str, Any]:
    redis = create_redis(env.settings())
    await redis.flushdb()
    outputs = await asyncio.to_thread(
        stampede.run,
        "optimized",
        env.redis_server.url,
        size.b2_processes,
        size.b2_callers,
        size.b2_keys,
        upstream_s=size.b2_slow_upstream_s,
    )
    calls = await _calls(redis)
    await redis.aclose()
    result = {
        "slow_upstream_s": size.b2_slow_upstream_s,
        "slow_upstream_calls": calls,
        "slow_upstream_calls_per_key": round(calls / size.b2_keys, 3),
        **_waits(outputs, "slow_upstream_"),
    }
    progress(f"B2 slow upstream ({size.b2_slow_upstream_s:g} s): {calls} upstream calls for {size.b2_keys} keys")
    return result


async def run(env: Env, size: Size) -> dict[str, Any]:
    baseline = await expired(env, size, "baseline")
    optimized = await expired(env, size, "optimized")
    return {
        "keys": size.b2_keys,
        "processes": size.b2_processes,
        "callers_per_process": size.b2_callers,
        "upstream_calls": optimized["upstream_calls"],
        "upstream_calls_per_key": round(optimized["upstream_calls"] / size.b2_keys, 3),
        "wait_ms_p50": optimized["wait_ms_p50"],
        "wait_ms_p99": optimized["wait_ms_p99"],
        "baseline": baseline,
        "optimized": optimized,
        **await dead_holder(env, size),
        **await slow_upstream(env, size),
    }
