"""B1: scan cycles of scout + ia1 + ia2, baseline vs optimized, on the same simulated market.

Both modes run the same service code (Scanner, Ia1Worker, Strategist). Baseline is the gateway with
its optimisations off: no shared cache, one ticker call per symbol, every stage fetching its own
candles, no prefetch. Between cycles the cache's clock and the simulator's clock move 30 s forward
(the default scan period), so tiers expire as they would in a real deployment.
"""

from __future__ import annotations

import time
from typing import Any

from bench.env import Clock, Env, Size, pct, progress
from bench.inproc import InProcessPipeline

SCAN_PERIOD_S = 30.0


def _totals(stats: dict[str, Any], tiers: tuple[str, ...] | None = None) -> tuple[int, int]:
    """(reads, upstream fills) from local cache stats, over the given tiers."""
    reads = fills = 0
    for tier, levels in stats.items():
        if tiers is not None and tier not in tiers:
            continue
        l1, l2 = levels.get("l1", {}), levels.get("redis", {})
        reads += l1.get("hit", 0) + l1.get("miss", 0) + l1.get("join", 0)
        fills += l2.get("fill", 0) + l2.get("error", 0)
    return reads, fills


def _minus(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tier, levels in after.items():
        for level, outcomes in levels.items():
            for outcome, n in outcomes.items():
                prior = before.get(tier, {}).get(level, {}).get(outcome, 0)
                out.setdefault(tier, {}).setdefault(level, {})[outcome] = n - prior
    return out


async def run_mode(env: Env, size: Size, mode: str) -> dict[str, Any]:
    env.sim.admin("POST", "/reset")
    env.sim.admin("PUT", "/rate-limit", json={"enabled": True, "per_s": 10, "burst": 10})
    clock = Clock()
    pipeline = InProcessPipeline(env, mode, clock)
    await pipeline.redis.flushdb()
    cycles: list[dict[str, Any]] = []
    ia1_seconds: list[float] = []
    for n in range(size.b1_cycles):
        if n:  # one scan period later: the price tier has expired, the others age
            clock.offset += SCAN_PERIOD_S
            env.sim.admin("POST", "/clock", json={"offset_ms": int(clock.offset * 1000)})
        env.sim.admin("POST", "/stats/reset")
        before = pipeline.gateway.cache.local_stats()
        cycle = await pipeline.cycle()
        if cycle.errors:
            raise RuntimeError(f"B1 {mode}: {len(cycle.errors)} stage failures, first: {cycle.errors[0]}")
        ia1_seconds += cycle.ia1_seconds
        stats = env.sim.admin("GET", "/stats")
        delta = _minus(pipeline.gateway.cache.local_stats(), before)
        reads, fills = _totals(delta)
        reuse_reads, reuse_fills = _totals(delta, ("ohlcv", "technical"))
        cycles.append(
            {
                "scan_seconds": cycle.scan_seconds,
                "cycle_seconds": cycle.cycle_seconds,
                "upstream_calls": stats["total"],
                "rate_limited": stats["outcomes"].get("rate_limited", 0),
                "reads": reads,
                "fills": fills,
                "reuse_reads": reuse_reads,
                "reuse_fills": reuse_fills,
                "tiers": delta,
            }
        )
        progress(
            f"B1 {mode} cycle {n + 1}/{size.b1_cycles}: "
            f"{cycle.scan_seconds:.2f} s scan, {stats['total']} upstream calls"
        )
    warm_scan = None
    if pipeline.optimized:  # a scan again within the same period: every read is cached
        t = time.perf_counter()
        await pipeline.scanner.scan()
        warm_scan = time.perf_counter() - t
    await pipeline.close()
    return _summary(cycles, ia1_seconds, warm_scan, pipeline.optimized)


def _summary(
    cycles: list[dict[str, Any]], ia1_seconds: list[float], warm_scan: float | None, optimized: bool
) -> dict[str, Any]:
    steady = cycles[1:] if len(cycles) > 1 else cycles  # the first cycle fills the caches
    reads = sum(c["reads"] for c in steady)
    fills = sum(c["fills"] for c in steady)
    reuse_reads = sum(c["reuse_reads"] for c in steady)
    reuse_fills = sum(c["reuse_fills"] for c in steady)
    per_cycle = sum(c["upstream_calls"] for c in steady) / len(steady)
    tiers: dict[str, float] = {}
    for tier in ("price", "ohlcv", "market", "technical"):
        tr, tf = _totals({tier: _sum_tier(steady, tier)})
        if tr:
            tiers[tier] = round(1 - tf / tr, 6)
    result: dict[str, Any] = {
        "cycles": len(cycles),
        "upstream_calls_per_cycle": round(per_cycle, 3),
        "upstream_calls_first_cycle": cycles[0]["upstream_calls"],
        "upstream_calls_per_hour": round(per_cycle * 3600 / SCAN_PERIOD_S, 1),
        "hit_rate": round(1 - fills / reads, 6) if optimized and reads else 0.0,
        "hit_rate_by_tier": tiers if optimized else {},
        "scan_seconds_p50": round(pct([c["scan_seconds"] for c in cycles], 50), 6),
        "scan_seconds_p95": round(pct([c["scan_seconds"] for c in cycles], 95), 6),
        "cycle_seconds_p50": round(pct([c["cycle_seconds"] for c in cycles], 50), 6),
        "ia1_analysis_seconds_p50": round(pct(ia1_seconds, 50), 6),
        "data_reuse": round(1 - reuse_fills / reuse_reads, 6) if optimized and reuse_reads else 0.0,
        "rate_limit_errors": sum(c["rate_limited"] for c in cycles),
    }
    if warm_scan is not None:
        result["warm_scan_seconds"] = round(warm_scan, 6)
    return result


def _sum_tier(cycles: list[dict[str, Any]], tier: str) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for c in cycles:
        for level, outcomes in c["tiers"].get(tier, {}).items():
            for outcome, n in outcomes.items():
                total.setdefault(level, {})[outcome] = total.get(level, {}).get(outcome, 0) + n
    return total


async def run(env: Env, size: Size) -> dict[str, Any]:
    baseline = await run_mode(env, size, "baseline")
    optimized = await run_mode(env, size, "optimized")
    return {
        "baseline": baseline,
        "optimized": optimized,
        "ratios": {
            "upstream_calls_baseline_over_optimized": _ratio(
                baseline["upstream_calls_per_cycle"], optimized["upstream_calls_per_cycle"]
            ),
            "scan_seconds_baseline_over_optimized": _ratio(baseline["scan_seconds_p50"], optimized["scan_seconds_p50"]),
        },
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None
