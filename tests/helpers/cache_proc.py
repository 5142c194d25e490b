"""One process of the cross-process stampede test: N callers read K keys at a given instant.

Usage: python -m tests.helpers.cache_proc REDIS_URL START_AT CALLERS KEYS
The upstream is a Redis counter (``upstream:calls``) plus a short sleep, so every process sees the total.
Prints the number of values received and the errors, as JSON.
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


async def main(redis_url: str, start_at: float, callers: int, key_count: int) -> None:
    settings = ServiceSettings(
        service_name="stampede", redis_url=redis_url, cache_ttl_price_s=1.0, cache_stale_factor=0.0
    )
    redis = create_redis(settings)
    cache = TieredCache(redis, CacheConfig.from_settings(settings))
    await cache.start()

    async def upstream(key: str) -> str:
        await redis.incr("upstream:calls")
        await asyncio.sleep(0.05)
        return f"value-of-{key}"

    async def caller(seed: int) -> list[str]:
        order = [f"k{i}" for i in range(key_count)]
        random.Random(seed).shuffle(order)
        return [await cache.get_or_fetch(Tier.PRICE, k, lambda k=k: upstream(k)) for k in order]

    await asyncio.sleep(max(0.0, start_at - time.time()))
    results = await asyncio.gather(*(caller(i) for i in range(callers)), return_exceptions=True)
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    good = [v for r in results if isinstance(r, list) for v in r if v.startswith("value-of-")]
    await cache.stop()
    await redis.aclose()
    print(orjson.dumps({"values": len(good), "errors": errors}).decode())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
