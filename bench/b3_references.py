"""B3's references, measured in the same run as the services: bare redis-py loops (bench/bare.py).

- **Bare batched consumer**: one process reads batches from a stream of opportunities, publishes each
  batch with one pipeline and acknowledges it with one XACK: the most that pattern does on this machine
  (ia1 does that, plus decoding, analysing and encoding).
- **Bare relay**: three such processes in a row carry messages over the same four streams as the
  pipeline (opportunities -> analyses -> decisions -> executions) at the same offered rate; its latency
  is what the hops alone cost.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time
from typing import Any

import orjson
from redis.asyncio import Redis

from bench.env import Env, Size, pct, progress
from devkit import processes
from devkit.waits import eventually
from shared.contracts import Opportunity
from shared.messages import encode
from shared.redis_client import create_redis

HOPS = ("bare:opportunities", "bare:analyses", "bare:decisions", "bare:executions")
GROUP = "bare"


def _db_url(env: Env, db: int) -> str:
    return f"{env.redis_server.url.rsplit('/', 1)[0]}/{db}"


def _payload(n: int) -> dict[str, bytes | str]:
    """A real opportunity's fields, so that the bytes moved are the pipeline's."""
    message = Opportunity(
        scan_id="bare", symbol="BTC/USDT:USDT", rank=1 + n % 20, score=0.8, price=60_000.0,
        change_pct_24h=2.0, quote_volume_24h=5e7, volatility_pct=3.0, spread_bps=2.0,
    )  # fmt: skip
    return encode(message)


async def bare_batched(env: Env, size: Size, *, db: int, batch: int) -> dict[str, Any]:
    url = _db_url(env, db)
    redis = create_redis(env.settings(redis_url=url))
    await redis.flushdb()
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(size.b3_burst):
            pipe.xadd(HOPS[0], _payload(n))  # type: ignore[arg-type]
        await pipe.execute()
    await redis.xgroup_create(HOPS[0], GROUP, id="0")
    await redis.aclose()
    args = [sys.executable, "-m", "bench.bare", "consume", url, HOPS[0], HOPS[1], GROUP, str(size.b3_burst), str(batch)]
    child = processes.spawn(args, stdout=subprocess.PIPE, stderr=None)
    try:
        out, _ = await asyncio.to_thread(child.communicate, timeout=120)
    finally:
        processes.kill(child)
    done = orjson.loads(out)
    rate = done["messages"] / done["seconds"]
    progress(f"B3 bare batched consumer: {rate:,.0f} msg/s (batches of {batch})")
    return {"batch": batch, "messages": done["messages"], "msgs_per_s": round(rate, 1)}


async def bare_relay(env: Env, size: Size, *, db: int, batch: int) -> dict[str, Any]:
    url = _db_url(env, db)
    redis = create_redis(env.settings(redis_url=url))
    await redis.flushdb()
    for stream in HOPS[:-1]:
        await redis.xgroup_create(stream, GROUP, id="$", mkstream=True)
    relays = [
        processes.spawn(
            [sys.executable, "-m", "bench.bare", "relay", url, source, target, GROUP, str(batch)]
            + (["--stamp"] if target == HOPS[-1] else [])
        )
        for source, target in itertools.pairwise(HOPS)
    ]
    try:
        await eventually(lambda: _relays_reading(redis), what="the bare relays reading")
        count = int(size.b3_rate * size.b3_seconds)
        started = time.perf_counter()
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / size.b3_rate - time.perf_counter()))
            await redis.xadd(HOPS[0], {**_payload(n), "created": repr(time.time())})  # type: ignore[dict-item]
        latencies = await _arrivals(redis, count)
    finally:
        for relay in relays:
            processes.kill(relay)
        await redis.aclose()
    result = {
        "offered_rate": size.b3_rate,
        "messages": len(latencies),
        "e2e_ms_p50": round(pct(latencies, 50) * 1000, 3),
        "e2e_ms_p99": round(pct(latencies, 99) * 1000, 3),
    }
    progress(f"B3 bare relay: p50 {result['e2e_ms_p50']} ms, p99 {result['e2e_ms_p99']} ms at {size.b3_rate:.0f} msg/s")
    return result


async def _relays_reading(redis: Redis) -> bool:
    """All three relays wait in XREADGROUP (Redis counts them as blocked clients)."""
    return int((await redis.info("clients"))["blocked_clients"]) >= len(HOPS) - 1


async def _arrivals(redis: Redis, count: int, timeout_s: float = 60) -> list[float]:
    """Seconds from publish to the last hop, for each of the ``count`` messages, once all arrived."""
    latencies: list[float] = []
    after = "0-0"
    deadline = time.monotonic() + timeout_s
    while len(latencies) < count and time.monotonic() < deadline:
        for _, entries in await redis.xread({HOPS[-1]: after}, count=1000, block=100) or []:
            for entry_id, fields in entries:
                after = entry_id.decode()
                latencies.append(float(fields[b"done_at"]) - float(fields[b"created"]))
    if len(latencies) < count:
        raise RuntimeError(f"B3 bare relay: {count - len(latencies)} of {count} messages never arrived")
    return latencies
