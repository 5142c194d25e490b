"""One process hammering the shared rate limiter: prints how many grants it got and when.

Usage: python -m tests.helpers.limiter_proc REDIS_URL START_AT SECONDS
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson

from shared.errors import TransientExchangeError
from shared.gateway.ratelimit import DistributedRateLimiter
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


async def main(redis_url: str, start_at: float, seconds: float) -> None:
    redis = create_redis(ServiceSettings(redis_url=redis_url))
    limiter = DistributedRateLimiter(redis, key="test:budget", rate_per_s=20, burst=5, max_wait_s=0.5)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    grants: list[float] = []
    while time.time() < start_at + seconds:
        try:
            await limiter.acquire(1)
            grants.append(time.time())
        except TransientExchangeError:
            pass
    await redis.aclose()
    print(orjson.dumps(grants).decode())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3])))
