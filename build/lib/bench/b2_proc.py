"""One process of B2: N concurrent callers each read the same K keys, starting at a given instant.

Usage: python -m bench.b2_proc MODE REDIS_URL START_AT CALLERS KEYS
``optimized`` reads through the shared cache; ``baseline`` calls the upstream for every read, as the
original did. The upstream is a Redis counter plus a 50 ms sleep (one exchange round trip), so the
parent sees the total over all processes. Prints the per-read waits (seconds) and errors as JSON.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time

import orjson

from shared.cache import CacheConfig, Tier, TieredCache
from shared.redis_client import create_redis
from shared.settings import ServiceSettings

UPSTREAM_COUNTER = "bench:b2:upstream"
UPSTREAM_SECONDS = 0.05


async def main(mode: str, redis_url: str, start_at: float, callers: int, key_count: int) -> None:
    settings = ServiceSettings(
        service_name="bench-b2", redis_url=redis_url, cache_ttl_price_s=1.0, cache_stale_factor=0.0
    )
    redis = create_redis(settings)
    cache = TieredCache(redis, CacheConfig.from_settings(settings))
    await cache.start()

    async def upstream(key: str) -> str:
        await redis.incr(UPSTREAM_COUNTER)
        await asyncio.sleep(UPSTREAM_SECONDS)
        return f"value-of-{key}"

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
            if await read(key) != f"value-of-{key}":
                raise ValueError(f"wrong value for {key}")
            waits.append(time.perf_counter() - started)
        return waits

    await asyncio.sleep(max(0.0, start_at - time.time()))
    results = await asyncio.gather(*(caller(i) for i in range(callers)), return_exceptions=True)
    waits = [w for r in results if isinstance(r, list) for w in r]
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    await cache.stop()
    await redis.aclose()
    print(orjson.dumps({"waits": waits, "errors": errors}).decode())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
