"""A cache stampede: P processes x N concurrent callers read the same K keys, all starting together.

One process: ``python -m devkit.stampede MODE REDIS_URL PROCESSES CALLERS KEYS``; :func:`run` starts P of
them and gathers what they print. The processes meet at a barrier in Redis (each counts itself in, then
waits for all P) so that the callers start together however slowly the processes came up; the entries
they fill stay fresh for a minute, so a late caller can only hit, never cause a second upstream call.

``optimized`` reads through the shared cache; ``baseline`` calls the upstream for every read, as a
system without a cache does. The upstream is a Redis counter (:data:`UPSTREAM_COUNTER`) plus a 50 ms
sleep (one exchange round trip), so the parent sees the total over all processes. Prints, as JSON, the
per-read waits in seconds, the number of right values received and the errors. The cache tests (exactly
one upstream call per key) and benchmark B2 (the waits) both run it.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import orjson

from devkit import barrier, processes
from shared.cache import CacheConfig, Tier, TieredCache
from shared.redis_client import create_redis
from shared.settings import ServiceSettings

UPSTREAM_COUNTER = "stampede:upstream"
BARRIER = "stampede:ready"
UPSTREAM_SECONDS = 0.05


def stampede_settings(redis_url: str, fresh_s: float = 60.0) -> ServiceSettings:
    """No stale window: a caller that finds no fresh entry can only wait for the one fill or do it."""
    return ServiceSettings(
        service_name="stampede", redis_url=redis_url, cache_ttl_price_s=fresh_s, cache_stale_factor=0.0
    )


def value_of(key: str) -> str:
    return f"value-of-{key}"


async def main(mode: str, redis_url: str, process_count: int, callers: int, key_count: int) -> None:
    settings = stampede_settings(redis_url)
    redis = create_redis(settings)
    cache = TieredCache(redis, CacheConfig.from_settings(settings))
    await cache.start()

    async def upstream(key: str) -> str:
        await redis.incr(UPSTREAM_COUNTER)
        await asyncio.sleep(UPSTREAM_SECONDS)
        return value_of(key)

    async def read(key: str) -> str:
        if mode == "baseline":
            return await upstream(key)
        value: str = await cache.get_or_fetch(Tier.PRICE, key, lambda: upstream(key))
        return value

    async def caller(seed: int) -> list[float]:
        order = [f"k{i}" for i in range(key_count)]
        random.Random(seed).shuffle(order)
        waits = []
        for key in order:
            started = time.perf_counter()
            if await read(key) != value_of(key):
                raise ValueError(f"wrong value for {key}")
            waits.append(time.perf_counter() - started)
        return waits

    await barrier.meet(redis, BARRIER, process_count)
    results = await asyncio.gather(*(caller(i) for i in range(callers)), return_exceptions=True)
    waits = [w for r in results if isinstance(r, list) for w in r]
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    await cache.stop()
    await redis.aclose()
    print(orjson.dumps({"waits": waits, "values": len(waits), "errors": errors}).decode())


def run(mode: str, redis_url: str, process_count: int, callers: int, key_count: int) -> list[dict[str, Any]]:
    """Start the processes, wait for all of them, return what each printed (waits, values, errors)."""
    args = [sys.executable, "-m", "devkit.stampede", mode, redis_url, str(process_count), str(callers), str(key_count)]
    return [orjson.loads(out) for out in processes.run_many(args, process_count)]


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
