"""B1: an hour of scan cycles of scout + ia1 + ia2, in three modes, on the same simulated market.

Every mode runs the same service code (Scanner, Ia1Worker, Strategist; see bench/inproc.py): ``baseline``
(no cache, one ticker call per symbol, every stage fetching its own candles), ``optimized`` (everything
on) and ``peer_polling`` (the access pattern of the most used open-source bot: one all-tickers call per
cycle, candles fetched again only when a new candle has closed, each stage with a memory of its own).

Time is simulated: the simulator's clock and the caches' clock are frozen at each cycle's start and
moved 30 s (the scan period) between cycles, so a simulated hour of 120 cycles runs as fast as the
machine computes them, and candle closes fall exactly where they would. The cold first cycle (empty
caches) is reported apart; the hour is the 120 cycles after it. Baseline keeps nothing between cycles,
so every cycle costs it the same: a few cycles spread over the hour are run (each takes ~25 s of rate-
limited calls) and its hourly figures are their mean times 120.

Reported per mode: REST calls and request weight per hour (counted by the simulator), scan p50/p95,
cache hit rates per tier, data reused between stages, IA1 analysis time, rate-limit errors.
"""

from __future__ import annotations

import time
from typing import Any

from bench.env import Env, Size, pct, progress
from bench.inproc import MODES, InProcessPipeline
from services.exchange_sim.api import request_weight

SCAN_PERIOD_S = 30.0
# 2026-01-05 00:07:30 UTC: the hour after it holds four 15m closes and one 1h close, like any hour.
START_S = 1_767_571_650.0


class MarketTime:
    """The simulated instant: the simulator's clock frozen at it, the caches' clock reading it."""

    def __init__(self, env: Env, start_s: float) -> None:
        self._env = env
        self.now = start_s
        self.move_to(start_s)

    def __call__(self) -> float:
        return self.now

    def move_to(self, at_s: float) -> None:
        self.now = at_s
        self._env.sim.admin("POST", "/clock", json={"frozen_at_ms": int(at_s * 1000)})


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


def _cycles_to_run(size: Size, mode: str) -> list[int]:
    """Cycle numbers to run (0 is the cold one): every one of the hour, or baseline's spread samples."""
    hour = int(size.b1_hours * 3600 / SCAN_PERIOD_S)
    if mode != "baseline":
        return list(range(hour + 1))
    step = max(1, hour // size.b1_baseline_cycles)
    return [0, *range(step, hour + 1, step)][: size.b1_baseline_cycles + 1]


async def run_mode(env: Env, size: Size, mode: str) -> dict[str, Any]:
    env.sim.admin("POST", "/reset")
    env.sim.admin("PUT", "/rate-limit", json={"enabled": True, "per_s": 10, "burst": 10})
    clock = MarketTime(env, START_S)
    pipeline = InProcessPipeline(env, mode, clock)
    await pipeline.redis.flushdb()
    cycles: list[dict[str, Any]] = []
    ia1_seconds: list[float] = []
    numbers = _cycles_to_run(size, mode)
    for n in numbers:
        clock.move_to(START_S + n * SCAN_PERIOD_S)
        env.sim.admin("POST", "/stats/reset")
        before = pipeline.cache_stats()
        cycle = await pipeline.cycle()
        if cycle.errors:
            raise RuntimeError(f"B1 {mode}: {len(cycle.errors)} stage failures, first: {cycle.errors[0]}")
        ia1_seconds += cycle.ia1_seconds
        stats = env.sim.admin("GET", "/stats")
        delta = _minus(pipeline.cache_stats(), before)
        reads, fills = _totals(delta)
        reuse_reads, reuse_fills = _totals(delta, ("ohlcv", "technical"))
        cycles.append(
            {
                "scan_seconds": cycle.scan_seconds,
                "cycle_seconds": cycle.cycle_seconds,
                "rest_calls": stats["total"],
                "weight": sum(request_weight(path) * count for path, count in stats["requests"].items()),
                "rate_limited": stats["outcomes"].get("rate_limited", 0),
                "reads": reads,
                "fills": fills,
                "reuse_reads": reuse_reads,
                "reuse_fills": reuse_fills,
                "tiers": delta,
            }
        )
        if len(cycles) in (1, 2) or len(cycles) % 30 == 0 or n == numbers[-1]:
            progress(
                f"B1 {mode} cycle {len(cycles)}/{len(numbers)} (minute {n * SCAN_PERIOD_S / 60:.1f}): "
                f"{cycle.scan_seconds:.2f} s scan, {stats['total']} REST calls"
            )
    warm_scan = None
    if pipeline.optimized:  # a scan again within the same period: every read is cached
        t = time.perf_counter()
        await pipeline.scanner.scan()
        warm_scan = time.perf_counter() - t
    await pipeline.close()
    return _summary(cycles, ia1_seconds, warm_scan, cached=mode != "baseline", sampled=mode == "baseline")


def _summary(
    cycles: list[dict[str, Any]], ia1_seconds: list[float], warm_scan: float | None, *, cached: bool, sampled: bool
) -> dict[str, Any]:
    cold, hour = cycles[0], cycles[1:]
    per_hour = 3600 / SCAN_PERIOD_S
    calls_per_cycle = sum(c["rest_calls"] for c in hour) / len(hour)
    weight_per_cycle = sum(c["weight"] for c in hour) / len(hour)
    reads = sum(c["reads"] for c in hour)
    fills = sum(c["fills"] for c in hour)
    reuse_reads = sum(c["reuse_reads"] for c in hour)
    reuse_fills = sum(c["reuse_fills"] for c in hour)
    tiers: dict[str, float] = {}
    for tier in ("price", "ohlcv", "market", "technical"):
        tr, tf = _totals({tier: _sum_tier(hour, tier)})
        if tr:
            tiers[tier] = round(1 - tf / tr, 6)
    scans = [c["scan_seconds"] for c in hour]
    result: dict[str, Any] = {
        "cycles": len(hour),
        "simulated_minutes": round(len(hour) * SCAN_PERIOD_S / 60, 1) if not sampled else None,
        "sampled_cycles": len(hour) if sampled else None,
        "rest_calls_per_hour": round(calls_per_cycle * per_hour, 1),
        "request_weight_per_hour": round(weight_per_cycle * per_hour, 1),
        "upstream_calls_per_cycle": round(calls_per_cycle, 3),
        "cold_first_cycle": {
            "rest_calls": cold["rest_calls"],
            "request_weight": cold["weight"],
            "scan_seconds": round(cold["scan_seconds"], 6),
        },
        "hit_rate": round(1 - fills / reads, 6) if cached and reads else 0.0,
        "hit_rate_by_tier": tiers if cached else {},
        "scan_seconds_p50": round(pct(scans, 50), 6),
        "scan_seconds_p95": round(pct(scans, 95), 6),
        "scan_seconds_max": round(max(scans), 6),
        "cycle_seconds_p50": round(pct([c["cycle_seconds"] for c in hour], 50), 6),
        "ia1_analysis_seconds_p50": round(pct(ia1_seconds, 50), 6),
        "data_reuse": round(1 - reuse_fills / reuse_reads, 6) if cached and reuse_reads else 0.0,
        "rate_limit_errors": sum(c["rate_limited"] for c in cycles),
    }
    if warm_scan is not None:
        result["warm_scan_seconds"] = round(warm_scan, 6)
    return {k: v for k, v in result.items() if v is not None}


def _sum_tier(cycles: list[dict[str, Any]], tier: str) -> dict[str, dict[str, int]]:
    total: dict[str, dict[str, int]] = {}
    for c in cycles:
        for level, outcomes in c["tiers"].get(tier, {}).items():
            for outcome, n in outcomes.items():
                total.setdefault(level, {})[outcome] = total.get(level, {}).get(outcome, 0) + n
    return total


async def run(env: Env, size: Size) -> dict[str, Any]:
    modes = {mode: await run_mode(env, size, mode) for mode in MODES}
    base, opt, peer = modes["baseline"], modes["optimized"], modes["peer_polling"]
    return {
        **modes,
        "ratios": {
            "upstream_calls_baseline_over_optimized": _ratio(
                base["upstream_calls_per_cycle"], opt["upstream_calls_per_cycle"]
            ),
            "scan_seconds_baseline_over_optimized": _ratio(base["scan_seconds_p50"], opt["scan_seconds_p50"]),
            "rest_calls_optimized_over_peer": _ratio(opt["rest_calls_per_hour"], peer["rest_calls_per_hour"]),
            "scan_p95_optimized_over_peer": _ratio(opt["scan_seconds_p95"], peer["scan_seconds_p95"]),
        },
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None
