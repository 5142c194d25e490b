"""A cache stampede: P processes x N concurrent callers read the same K keys, all starting together;
and a lock holder to kill.

``python -m devkit.stampede run MODE REDIS_URL PROCESSES CALLERS KEYS [--upstream-s S]`` is one process of
callers; :func:`run` starts P of them and gathers what they print. The processes meet at a barrier in
Redis (each counts itself in, then waits for all P) so that the callers start together however slowly
the processes came up; the entries they fill stay fresh for a minute, so a late caller can only hit,
never cause a second upstream call.

``optimized`` reads through the shared cache; ``baseline`` calls the upstream for every read, as a
system without a cache does. The upstream is a Redis counter (:data:`UPSTREAM_COUNTER`) plus a sleep of
``--upstream-s`` (50 ms: one exchange round trip), so the parent sees the total over all processes.
Prints, as JSON, the per-read waits in seconds, the number of right values received and the errors.

``python -m devkit.stampede hold REDIS_URL KEYS`` takes the fill lock of each of the K keys and starts
a fetch that never ends (it counts itself in :data:`UPSTREAM_COUNTER` first): a holder to SIGKILL
mid-fetch. The cache tests and benchmark B2 run both.
"""

from __future__ import annotations

import argparse
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


def key_names(count: int) -> list[str]:
    return [f"k{i}" for i in range(count)]


async def main(mode: str, redis_url: str, process_count: int, callers: int, key_count: int, upstream_s: float) -> None:
    settings = stampede_settings(redis_url)
    redis = create_redis(settings)
    cache = TieredCache(redis, CacheConfig.from_settings(settings))
    await cache.start()

    async def upstream(key: str) -> str:
        await redis.incr(UPSTREAM_COUNTER)
        await asyncio.sleep(upstream_s)
        return value_of(key)

    async def read(key: str) -> str:
        if mode == "baseline":
            return await upstream(key)
        value: str = await cache.get_or_fetch(Tier.PRICE, key, lambda: upstream(key))
        return value

    async def caller(seed: int) -> list[float]:
        order = key_names(key_count)
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


async def hold(redis_url: str, key_count: int) -> None:
    """Hold the fill lock of every key, each with a fetch that never ends, until killed."""
    settings = stampede_settings(redis_url)
    redis = create_redis(settings)
    cache = TieredCache(redis, CacheConfig.from_settings(settings))
    never = asyncio.Event()

    async def upstream() -> str:
        await redis.incr(UPSTREAM_COUNTER)
        await never.wait()
        raise AssertionError("unreachable")

    await asyncio.gather(*(cache.get_or_fetch(Tier.PRICE, key, upstream) for key in key_names(key_count)))


def run(
    mode: str, redis_url: str, process_count: int, callers: int, key_count: int, *, upstream_s: float = UPSTREAM_SECONDS
) -> list[dict[str, Any]]:
    """Start the processes, wait for all of them, return what each printed (waits, values, errors)."""
    args = [
        sys.executable, "-m", "devkit.stampede", "run", mode, redis_url,
        str(process_count), str(callers), str(key_count), "--upstream-s", str(upstream_s),
    ]  # fmt: skip
    return [orjson.loads(out) for out in processes.run_many(args, process_count)]


def holder_args(redis_url: str, key_count: int) -> list[str]:
    """The command line of a lock holder, for :func:`devkit.processes.spawn`."""
    return [sys.executable, "-m", "devkit.stampede", "hold", redis_url, str(key_count)]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devkit.stampede")
    roles = parser.add_subparsers(dest="role", required=True)
    callers = roles.add_parser("run", help="one process of callers")
    callers.add_argument("mode", choices=("optimized", "baseline"))
    callers.add_argument("redis_url")
    callers.add_argument("processes", type=int)
    callers.add_argument("callers", type=int)
    callers.add_argument("keys", type=int)
    callers.add_argument("--upstream-s", type=float, default=UPSTREAM_SECONDS)
    holder = roles.add_parser("hold", help="hold every key's fill lock with a fetch that never ends")
    holder.add_argument("redis_url")
    holder.add_argument("keys", type=int)
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = _parse(sys.argv[1:])
    if args.role == "hold":
        asyncio.run(hold(args.redis_url, args.keys))
    else:
        asyncio.run(main(args.mode, args.redis_url, args.processes, args.callers, args.keys, args.upstream_s))
