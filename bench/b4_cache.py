"""B4: what one read costs, by where it is answered, beside Redis' own figure for the same bytes.

The value is one cached candle series as ia1 reads it (BTC 1h, 200 candles, through ``gateway.ohlcv``
with its shape applied: rows as tuples). Measured in turns, so that drift on a shared machine hits all
alike: an L1 hit and a Redis hit through the gateway (the Redis hit on a gateway whose L1 is off), the
same two on the cache alone, a plain redis-py GET of the entry's bytes (raw, and decoded), and a
miss-with-fill (a new key each time, an upstream that answers at once: the cache's own cost: lock,
write, wake-up). Then ``redis-benchmark`` GETs the very same key with one client: the ratio of the
gateway's Redis hit to it is the overhead of everything this project and redis-py add to a GET.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from bench.env import Env, Size, pct, progress
from shared.cache import Tier

BTC = "BTC/USDT:USDT"


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


def redis_benchmark_get_us(env: Env, key: str, requests: int) -> float:
    """redis-benchmark's p50 for a GET of ``key`` with one client, in µs."""
    binary = shutil.which("redis-benchmark") or str(Path(env.redis_server.binary).with_name("redis-benchmark"))
    if not Path(binary).exists():
        raise RuntimeError("B4 needs redis-benchmark (Debian: redis-tools, installed with redis-server)")
    args = [binary, "-p", str(env.redis_server.port), "-c", "1", "-n", str(requests), "--csv", "GET", key]
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=120).stdout
    header, row = (line.replace('"', "").split(",") for line in out.strip().splitlines()[-2:])
    return float(dict(zip(header, row, strict=True))["p50_latency_ms"]) * 1000


async def run(env: Env, size: Size) -> dict[str, Any]:
    env.sim.admin("POST", "/reset")
    env.sim.admin("PUT", "/rate-limit", json={"enabled": False})
    settings = env.settings(service_name="bench-b4", exchange_rate_per_s=1000, exchange_rate_burst=1000)
    with_l1 = env.gateway(settings)
    without_l1 = env.gateway(settings.model_copy(update={"cache_l1_ttl_s": 0.0}))
    redis = without_l1.limiter.redis
    await redis.flushdb()
    for gateway in (with_l1, without_l1):
        await gateway.symbols()
        await gateway.cache.start()
        await gateway.ohlcv(BTC, "1h", 200)
    key = "1h:200"
    entry_key = without_l1.cache.redis_key(Tier.OHLCV, key, BTC)
    raw = await redis.get(entry_key)
    assert raw is not None

    async def never() -> Any:
        raise AssertionError("a hit was expected")

    n = size.b4_iterations
    readers: dict[str, Callable[[int], Awaitable[Any]]] = {
        "gateway_l1_hit": lambda i: with_l1.ohlcv(BTC, "1h", 200),
        "gateway_redis_hit": lambda i: without_l1.ohlcv(BTC, "1h", 200),
        "l1_hit": lambda i: with_l1.cache.get_or_fetch(Tier.OHLCV, key, never, symbol=BTC),
        "redis_hit": lambda i: without_l1.cache.get_or_fetch(Tier.OHLCV, key, never, symbol=BTC),
        "raw_redis_get": lambda i: redis.get(entry_key),
        "raw_redis_get_decoded": lambda i: _get_decoded(redis, entry_key),
    }
    waits = await _timed(n, readers)
    benchmark_us = redis_benchmark_get_us(env, entry_key, max(10_000, n * 4))

    async def upstream() -> list[list[float]]:
        return orjson.loads(raw)[2]  # type: ignore[no-any-return]

    # Alone: each fill publishes an event that the cache's listener handles between later reads.
    fills = await _timed(n, {"miss_fill": lambda i: with_l1.cache.get_or_fetch(Tier.OHLCV, f"new:{i}", upstream)})
    waits.update(fills)
    for gateway in (with_l1, without_l1):
        await gateway.close()
        await gateway.cache.stop()
        await gateway.limiter.redis.aclose()
    result: dict[str, Any] = {"iterations": n, "payload_bytes": len(raw), "redis_benchmark_get_us_p50": benchmark_us}
    for name, values in waits.items():
        result[f"{name}_us_p50"] = _us(values, 50)
        result[f"{name}_us_p99"] = _us(values, 99)
    result["gateway_hit_over_redis_benchmark"] = round(result["gateway_redis_hit_us_p50"] / benchmark_us, 3)
    result["redis_hit_over_raw_get"] = round(result["redis_hit_us_p50"] / result["raw_redis_get_us_p50"], 3)
    result["redis_hit_over_raw_get_decoded"] = round(
        result["redis_hit_us_p50"] / result["raw_redis_get_decoded_us_p50"], 3
    )
    result["raw_get_over_redis_benchmark"] = round(result["raw_redis_get_us_p50"] / benchmark_us, 3)
    progress(
        f"B4: gateway L1 hit {result['gateway_l1_hit_us_p50']} µs, gateway Redis hit "
        f"{result['gateway_redis_hit_us_p50']} µs, raw GET {result['raw_redis_get_us_p50']} µs, "
        f"redis-benchmark GET {benchmark_us:g} µs"
    )
    return result


async def _get_decoded(redis: Any, key: str) -> Any:
    return tuple(map(tuple, orjson.loads(await redis.get(key))[2]))
