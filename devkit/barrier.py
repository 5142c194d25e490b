"""A start line in Redis for several processes: each counts itself in, then waits for all the others.

Tests and benchmarks that need processes to act together (a stampede, a shared budget) meet here
instead of sleeping until an agreed instant, which a slow start on a busy machine would miss.
"""

from __future__ import annotations

from redis.asyncio import Redis

from devkit.waits import eventually


async def meet(redis: Redis, key: str, parties: int, timeout_s: float = 60.0) -> None:
    await redis.incr(key)

    async def everyone_in() -> bool:
        return int(await redis.get(key) or 0) >= parties

    await eventually(everyone_in, timeout_s, interval_s=0.002, what=f"{parties} parties at {key}")
