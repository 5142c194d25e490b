"""B2: processes x callers ask for the same keys right after they expired.

The keys are written first with a short TTL and no stale window; once every copy has expired, the
processes start their callers together (devkit/stampede.py): the worst case for a cache without
single-flight.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.env import Env, Size, pct, progress
from devkit import stampede
from devkit.stampede import UPSTREAM_COUNTER, stampede_settings
from devkit.waits import eventually, gone
from shared.cache import CacheConfig, Tier, TieredCache
from shared.redis_client import create_redis


async def run_mode(env: Env, size: Size, mode: str) -> dict[str, Any]:
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
    calls = int(await redis.get(UPSTREAM_COUNTER) or 0)
    await redis.aclose()
    waits = [w for out in outputs for w in out["waits"]]
    errors = sum(len(out["errors"]) for out in outputs)
    progress(f"B2 {mode}: {calls} upstream calls for {size.b2_keys} keys, {errors} errors")
    return {
        "upstream_calls": calls,
        "reads": len(waits),
        "caller_errors": errors,
        "wait_ms_p50": round(pct(waits, 50) * 1000, 3),
        "wait_ms_p99": round(pct(waits, 99) * 1000, 3),
    }


async def run(env: Env, size: Size) -> dict[str, Any]:
    baseline = await run_mode(env, size, "baseline")
    optimized = await run_mode(env, size, "optimized")
    await asyncio.sleep(0)
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
    }
