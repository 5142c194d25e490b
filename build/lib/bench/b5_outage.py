"""B5: the exchange answers 503 for a window while the scan cycle keeps running.

Time in the cache runs 30 times faster than the wall clock (a 20 s window stands for 10 minutes, twenty
30-second scan periods), so tiers go stale during the window as they would in a long outage. The
simulator's fault window and the breaker use real time. Recovery is the time from the window's end
to the first fresh upstream answer stored in the cache.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.b1_scan import SCAN_PERIOD_S
from bench.env import Env, Size, progress
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


async def run(env: Env, size: Size) -> dict[str, Any]:
    env.sim.admin("POST", "/reset")
    env.sim.admin("PUT", "/rate-limit", json={"enabled": True, "per_s": 10, "burst": 10})
    pipeline = InProcessPipeline(env, "optimized", FastClock(SPEED))
    await pipeline.redis.flushdb()
    pause = SCAN_PERIOD_S / SPEED
    warm = await pipeline.cycle()  # fills every tier before the outage
    if warm.errors:
        raise RuntimeError(f"B5 warm-up failed: {warm.errors[0]}")
    stats_before = pipeline.gateway.cache.local_stats()
    reads_before = _reads(stats_before)
    outcomes_before = _redis_outcomes(stats_before)
    env.sim.admin("POST", "/faults", json={"kind": "http_503", "duration_s": size.b5_window_s})
    window_ends = time.monotonic() + size.b5_window_s
    during: list[CycleResult] = []
    while time.monotonic() < window_ends:
        during.append(await pipeline.cycle())
        await asyncio.sleep(pause)
    stats_after = pipeline.gateway.cache.local_stats()
    outcomes = {k: v - outcomes_before.get(k, 0) for k, v in _redis_outcomes(stats_after).items()}
    reads = _reads(stats_after) - reads_before
    recovery_s = await _recover(pipeline, window_ends, timeout_s=60)
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
        "recovery_seconds": round(recovery_s, 3),
    }
    progress(
        f"B5: {result['stale_reads']} stale reads, {caller_errors} caller errors, "
        f"{result['decisions_during_outage']} decisions in the window, recovered in {recovery_s:.1f} s"
    )
    return result


async def _recover(pipeline: InProcessPipeline, window_ends: float, timeout_s: float) -> float:
    """Seconds after the window until a cycle stores a fresh upstream answer again."""
    await asyncio.sleep(max(0.0, window_ends - time.monotonic()))
    deadline = time.monotonic() + timeout_s
    fills = _redis_outcomes(pipeline.gateway.cache.local_stats()).get("fill", 0)
    while time.monotonic() < deadline:
        await pipeline.cycle()
        if _redis_outcomes(pipeline.gateway.cache.local_stats()).get("fill", 0) > fills:
            return time.monotonic() - window_ends
        await asyncio.sleep(0.2)
    raise RuntimeError(f"B5: no fresh data {timeout_s:.0f} s after the outage ended")
