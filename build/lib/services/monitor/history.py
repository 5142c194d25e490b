"""24 hours of samples in Redis (a sorted set by time), trimmed on every write."""

from __future__ import annotations

import time
from typing import Any

import orjson
from redis.asyncio import Redis

from shared.keys import MONITOR_HISTORY


class History:
    def __init__(self, redis: Redis, *, retention_s: float) -> None:
        self._redis = redis
        self.retention_s = retention_s

    async def record(self, sample: dict[str, Any], *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        entry = orjson.dumps({**sample, "ts": now})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(MONITOR_HISTORY, {entry: now})
            pipe.zremrangebyscore(MONITOR_HISTORY, "-inf", now - self.retention_s)
            await pipe.execute()

    async def window(self, *, now: float | None = None) -> list[dict[str, Any]]:
        now = time.time() if now is None else now
        raw = await self._redis.zrangebyscore(MONITOR_HISTORY, now - self.retention_s, "+inf")
        return [orjson.loads(item) for item in raw]


def trend(samples: list[dict[str, Any]], field: str) -> dict[str, Any]:
    values = [s[field] for s in samples if isinstance(s.get(field), int | float)]
    if not values:
        return {"first": None, "last": None, "change": None, "min": None, "max": None}
    return {
        "first": values[0],
        "last": values[-1],
        "change": values[-1] - values[0],
        "min": min(values),
        "max": max(values),
    }


def calls_per_hour(samples: list[dict[str, Any]]) -> float | None:
    points = [(s["ts"], s["upstream_calls"]) for s in samples if isinstance(s.get("upstream_calls"), int | float)]
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    (t0, c0), (t1, c1) = points[0], points[-1]
    return max(0.0, float(c1 - c0) / float(t1 - t0) * 3600)
