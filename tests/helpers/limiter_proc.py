"""One process hammering the shared rate limiter: prints how many grants it got and when.

Usage: python -m tests.helpers.limiter_proc REDIS_URL PROCESSES SECONDS (the processes start together)
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson

from devkit import barrier
from shared.errors import TransientExchangeError
from shared.gateway.ratelimit import DistributedRateLimiter
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


async def main(redis_url: str, parties: int, seconds: float) -> None:
    redis = create_redis(ServiceSettings(redis_url=redis_url))
    limiter = DistributedRateLimiter(redis, key="test:budget", rate_per_s=20, burst=5, max_wait_s=0.5)
    await barrier.meet(redis, "test:limiter-start", parties)
    started = time.time()
    grants: list[float] = []
    while time.time() < started + seconds:
        try:
            await limiter.acquire(1)
            grants.append(time.time())
        except TransientExchangeError:
            pass
    await redis.aclose()
    print(orjson.dumps(grants).decode())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
