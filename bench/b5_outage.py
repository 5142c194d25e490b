"""B5: the exchange answers 503 for a window while the scan cycle keeps running, then several short outages.

Time in the cache runs 30 times faster than the wall clock (a 20 s window stands for 10 minutes, twenty
30-second scan periods), so tiers go stale during the window as they would in a long outage. The
simulator's fault window and the breaker use real time. Recovery is the time from a window's end to
the first fresh upstream answer stored in the cache; it depends on where the breaker's reset falls, so
it is reported as a distribution over several outages of different lengths (the first, long one for
the stale-serving figures, then short ones).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.b1_scan import SCAN_PERIOD_S
from bench.env import Env, Size, pct, progress
from bench.inproc import CycleResult, InProcessPipeline

SPEED = 30.0  # cache seconds per wall-clock second


class FastClock:
    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.origin = time.time()

    def __call__(self) -> float:
        now = time.time()
        return now + (now - self.origin) * (self.speed - 1)


def _redis_outcomes(stats: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for levels in stats.values():
        for outcome, n in levels.get("redis", {}).items():
            totals[outcome] = totals.get(outcome, 0) + n
    return totals


def _reads(stats: dict[str, Any]) -> int:
    return sum(n for levels in stats.values() for n in levels.get("l1", {}).values())


async def _outage(pipeline: InProcessPipeline, env: Env, window_s: float) -> tuple[list[CycleResult], float]:
    """Cycles through a 503 window of ``window_s``; the cycles run during it and the window's end."""
    env.sim.admin("POST", "/faults", json={"kind": "http_503", "duration_s": window_s})
    window_ends = time.monotonic() + window_s
    during: list[CycleResult] = []
    while time.monotonic() < window_ends:
        during.append(await pipeline.cycle())
        await asyncio.sleep(SCAN_PERIOD_S / SPEED)
    return during, window_ends


async def run(env: Env, size: Size) -> dict[str, Any]:
    env.sim.admin("POST", "/reset")
    env.sim.admin("PUT", "/rate-limit", json={"enabled": True, "per_s": 10, "burst": 10})
    pipeline = InProcessPipeline(env, "optimized", FastClock(SPEED))
    await pipeline.redis.flushdb()
    warm = await pipeline.cycle()  # fills every tier before the outage
    if warm.errors:
        raise RuntimeError(f"B5 warm-up failed: {warm.errors[0]}")
    stats_before = pipeline.cache_stats()
    reads_before = _reads(stats_before)
    outcomes_before = _redis_outcomes(stats_before)
    during, window_ends = await _outage(pipeline, env, size.b5_window_s)
    stats_after = pipeline.cache_stats()
    outcomes = {k: v - outcomes_before.get(k, 0) for k, v in _redis_outcomes(stats_after).items()}
    reads = _reads(stats_after) - reads_before
    recoveries = [await _recover(pipeline, window_ends, timeout_s=60)]
    for k in range(size.b5_outages - 1):  # short outages of different lengths: the breaker's phase varies
        window_s = size.b5_short_window_s * (0.6 + 0.8 * k / max(1, size.b5_outages - 2))
        short, ends = await _outage(pipeline, env, window_s)
        during += short
        recoveries.append(await _recover(pipeline, ends, timeout_s=60))
    await pipeline.close()
    caller_errors = sum(len(c.errors) for c in during)
    affected = outcomes.get("stale", 0) + outcomes.get("join_failed", 0) + caller_errors
    result = {
        "window_s": size.b5_window_s,
        "cycles_during_outage": len(during),
        "reads_during_outage": reads,
        "stale_reads": outcomes.get("stale", 0),
        "upstream_errors": outcomes.get("error", 0),
        "stale_served_ratio": round(outcomes.get("stale", 0) / affected, 6) if affected else 1.0,
        "stale_share_of_all_reads": round(outcomes.get("stale", 0) / reads, 6) if reads else 0.0,
        "caller_errors": caller_errors,
        "opportunities_during_outage": sum(c.opportunities for c in during),
        "decisions_during_outage": sum(len(c.decisions) for c in during),
        "outages": len(recoveries),
        "breaker_reset_s": pipeline.gateway.breaker.reset_s,
        "recovery_seconds_p50": round(pct(recoveries, 50), 3),
        "recovery_seconds_p95": round(pct(recoveries, 95), 3),
        "recovery_seconds_max": round(max(recoveries), 3),
        "recovery_seconds_each": [round(r, 3) for r in recoveries],
    }
    progress(
        f"B5: {result['stale_reads']} stale reads, {caller_errors} caller errors, "
        f"{result['decisions_during_outage']} decisions in the windows; recovery over {len(recoveries)} outages: "
        f"p50 {result['recovery_seconds_p50']} s, p95 {result['recovery_seconds_p95']} s"
    )
    return result


async def _recover(pipeline: InProcessPipeline, window_ends: float, timeout_s: float) -> float:
    """Seconds from the window's end to the moment a fresh upstream answer is stored again (the cycles go
    on meanwhile, as the scan loop would; a watcher notes the moment of the first fill)."""
    await asyncio.sleep(max(0.0, window_ends - time.monotonic()))
    fills = _redis_outcomes(pipeline.cache_stats()).get("fill", 0)

    async def cycles() -> None:
        while True:
            await pipeline.cycle()
            await asyncio.sleep(0.2)

    running = asyncio.create_task(cycles())
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _redis_outcomes(pipeline.cache_stats()).get("fill", 0) > fills:
                return time.monotonic() - window_ends
            if running.done():
                running.result()  # a cycle raised: let it be seen
            await asyncio.sleep(0.005)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    raise RuntimeError(f"B5: no fresh data {timeout_s:.0f} s after the outage ended")
