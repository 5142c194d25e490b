"""B4: what one cache read costs, by where it is answered, beside a plain redis-py GET of the same bytes.

The payload is one cached candle series (200 rows, as ia1 reads it). A Redis hit is measured on a
cache whose L1 is off, so every read goes to Redis; a miss-with-fill uses a new key each time and an
upstream that answers at once, so it shows the cache's own cost (lock, write, wake-up), not the
exchange's.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from bench.env import Env, Size, pct, progress
from shared.cache import CacheConfig, Tier, TieredCache
from shared.redis_client import create_redis


def _payload() -> list[list[float]]:
    start = 1_700_000_000_000
    return [
        [start + i * 3_600_000, 100.0 + i * 0.01, 101.5 + i * 0.01, 99.2 + i * 0.01, 100.7 + i * 0.01, 12345.678]
        for i in range(200)
    ]


async def _timed(iterations: int, readers: dict[str, Callable[[int], Awaitable[Any]]]) -> dict[str, list[float]]:
    """Per-read times of each reader, taken in turns, so that drift on a shared machine hits all alike."""
    for i in range(min(200, iterations)):  # warm connections and the interpreter's caches
        for read in readers.values():
            await read(-1 - i)
    waits: dict[str, list[float]] = {name: [] for name in readers}
    for i in range(iterations):
        for name, read in readers.items():
            started = time.perf_counter()
            await read(i)
            waits[name].append(time.perf_counter() - started)
    return waits


def _us(values: list[float], q: float) -> float:
    return round(pct(values, q) * 1e6, 3)


async def run(env: Env, size: Size) -> dict[str, Any]:
    settings = env.settings(service_name="bench-b4")
    redis = create_redis(settings)
    await redis.flushdb()
    payload = _payload()
    config = CacheConfig.from_settings(settings)
    with_l1 = TieredCache(redis, config)
    without_l1 = TieredCache(redis, CacheConfig(tiers=config.tiers, prefix=config.prefix, l1_ttl_s=0))
    await with_l1.start()
    await without_l1.start()

    async def upstream() -> list[list[float]]:
        return payload

    await with_l1.get_or_fetch(Tier.OHLCV, "bench:series", upstream)
    raw_key = "bench:raw"
    await redis.set(raw_key, orjson.dumps(payload))
    n = size.b4_iterations
    readers: dict[str, Callable[[int], Awaitable[Any]]] = {
        "l1_hit": lambda i: with_l1.get_or_fetch(Tier.OHLCV, "bench:series", upstream),
        "redis_hit": lambda i: without_l1.get_or_fetch(Tier.OHLCV, "bench:series", upstream),
        "raw_redis_get": lambda i: redis.get(raw_key),
        "raw_redis_get_decoded": lambda i: _get_decoded(redis, raw_key),
    }
    waits = await _timed(n, readers)
    # Alone: each fill publishes an event that the cache's listener handles between later reads.
    fills = await _timed(n, {"miss_fill": lambda i: with_l1.get_or_fetch(Tier.OHLCV, f"bench:new:{i}", upstream)})
    waits.update(fills)
    await with_l1.stop()
    await without_l1.stop()
    await redis.aclose()
    result: dict[str, Any] = {"iterations": n, "payload_bytes": len(orjson.dumps(payload))}
    for name, values in waits.items():
        result[f"{name}_us_p50"] = _us(values, 50)
        result[f"{name}_us_p99"] = _us(values, 99)
    result["redis_hit_over_raw_get"] = round(result["redis_hit_us_p50"] / result["raw_redis_get_us_p50"], 3)
    result["redis_hit_over_raw_get_decoded"] = round(
        result["redis_hit_us_p50"] / result["raw_redis_get_decoded_us_p50"], 3
    )
    progress(
        f"B4: L1 {result['l1_hit_us_p50']} µs, Redis hit {result['redis_hit_us_p50']} µs, "
        f"raw GET {result['raw_redis_get_us_p50']} µs"
    )
    return result


async def _get_decoded(redis: Any, key: str) -> Any:
    return orjson.loads(await redis.get(key))
