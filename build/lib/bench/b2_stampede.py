"""B2: processes x callers ask for the same keys right after they expired.

The keys are written first with a 1 s TTL and no stale window, then every process starts its callers
at the same instant, after the copies expired: the worst case for a cache without single-flight.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import orjson

from bench.b2_proc import UPSTREAM_COUNTER
from bench.env import ROOT, Env, Size, pct, progress
from shared.cache import CacheConfig, Tier, TieredCache
from shared.redis_client import create_redis


async def run_mode(env: Env, size: Size, mode: str) -> dict[str, Any]:
    settings = env.settings(service_name="bench-b2", cache_ttl_price_s=1.0, cache_stale_factor=0.0)
    redis = create_redis(settings)
    await redis.flushdb()
    seeder = TieredCache(redis, CacheConfig.from_settings(settings))
    for i in range(size.b2_keys):
        await seeder.put(Tier.PRICE, f"k{i}", "old")
    start_at = time.time() + 3.0  # processes import, connect and subscribe, then wait for this instant
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.b2_proc",
                mode,
                settings.redis_url,
                str(start_at),
                str(size.b2_callers),
                str(size.b2_keys),
            ],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        for _ in range(size.b2_processes)
    ]
    outputs = [orjson.loads(proc.communicate(timeout=120)[0]) for proc in procs]
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
