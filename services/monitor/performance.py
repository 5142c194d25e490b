"""The live performance test and the optimized-vs-baseline benchmark, run through the real gateway.

Upstream calls are counted from the gateway's own counter, so the figures are what the exchange saw.
Baseline is the same gateway code with the cache and batching switched off (GATEWAY_MODE=baseline).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import HTTPException
from redis.asyncio import Redis

from shared.errors import TransientExchangeError
from shared.gateway import GatewayOptions, MarketDataGateway
from shared.gateway.gateway import EXCHANGE_REQUESTS
from shared.gateway.ratelimit import DistributedRateLimiter

TEST_TIMEFRAME = "1h"
TEST_CANDLES = 100


class PerfGuard:
    """Keeps the live performance endpoints from spending the shared exchange budget.

    Each client may run one every ``client_interval_s`` (the admin token is exempt), and all runs together
    draw from a bucket refilled at ``share`` of the exchange rate: a run that would overdraw it is refused
    at once with 429, before any exchange call.
    """

    def __init__(
        self, redis: Redis, *, exchange_rate_per_s: float, share: float, client_interval_s: float, symbols: int
    ) -> None:
        self._redis = redis
        self._client_interval_ms = int(client_interval_s * 1000)
        self._share = DistributedRateLimiter(
            redis,
            key="tp:ratelimit:perf-share",
            rate_per_s=exchange_rate_per_s * share,
            # One test and one benchmark at once, then no more than the share allows.
            burst=expected_calls(symbols, baseline=True) + expected_calls(symbols, baseline=False),
            max_wait_s=0.0,
        )

    async def admit(self, endpoint: str, client: str, calls: int, *, admin: bool) -> None:
        if not admin and self._client_interval_ms:
            key = f"tp:monitor:perf-client:{endpoint}:{client}"
            if not await self._redis.set(key, b"1", px=self._client_interval_ms, nx=True):
                retry = max(1, int(await self._redis.pttl(key)) // 1000)
                raise HTTPException(
                    429, f"one run per {self._client_interval_ms // 1000} s per client", {"Retry-After": str(retry)}
                )
        try:
            await self._share.acquire(calls)
        except TransientExchangeError:
            raise HTTPException(
                429,
                "the share of the exchange budget set aside for tests is spent; try again later",
                {"Retry-After": "30"},
            ) from None


def expected_calls(symbols: int, *, baseline: bool) -> int:
    """Upstream calls a run may make at most: per symbol a ticker and candles (baseline), plus the batch."""
    return 2 * symbols + 2 if baseline else 2 + symbols


def upstream_calls() -> int:
    """Every exchange call this process has made (all endpoints and outcomes but breaker refusals)."""
    total = 0.0
    for metric in EXCHANGE_REQUESTS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") != "breaker_open":
                total += sample.value
    return int(total)


async def test_symbols(gateway: MarketDataGateway, count: int) -> list[str]:
    """The ``count`` most traded symbols: the same ones for every run while the market holds still."""
    tickers = await gateway.tickers()
    ranked = sorted(tickers.values(), key=lambda t: -(t.quote_volume or 0.0))
    return [t.symbol for t in ranked[:count]]


async def read_round(gateway: MarketDataGateway, symbols: list[str]) -> dict[str, Any]:
    before = upstream_calls()
    started = time.perf_counter()
    await gateway.prices(symbols)
    await gateway.ohlcv_many(symbols, TEST_TIMEFRAME, TEST_CANDLES)
    return {"seconds": round(time.perf_counter() - started, 6), "upstream_calls": upstream_calls() - before}


async def performance_test(gateway: MarketDataGateway, count: int) -> dict[str, Any]:
    symbols = await test_symbols(gateway, count)
    stats_before = gateway.cache.local_stats()
    first = await read_round(gateway, symbols)
    second = await read_round(gateway, symbols)
    stats_after = gateway.cache.local_stats()
    requests = _delta(stats_before, stats_after, "l1", ("hit", "miss", "join"))
    fills = _delta(stats_before, stats_after, "redis", ("fill", "error"))
    return {
        "symbols": symbols,
        "first_read": first,
        "second_read": second,
        "reads": requests,
        "upstream_calls": first["upstream_calls"] + second["upstream_calls"],
        "hit_rate": round(1 - fills / requests, 6) if requests else 0.0,
    }


async def benchmark(gateway: MarketDataGateway, count: int) -> dict[str, Any]:
    symbols = await test_symbols(gateway, count)
    baseline_gateway = MarketDataGateway(
        gateway.settings,
        gateway.limiter.redis,
        gateway.cache,
        exchange=gateway.exchange,
        options=GatewayOptions.for_mode("baseline"),
    )
    baseline = await read_round(baseline_gateway, symbols)
    optimized = await read_round(gateway, symbols)
    return {
        "symbols": symbols,
        "baseline": baseline,
        "optimized": optimized,
        "ratios": {
            "upstream_calls_baseline_over_optimized": _ratio(baseline["upstream_calls"], optimized["upstream_calls"]),
            "seconds_baseline_over_optimized": _ratio(baseline["seconds"], optimized["seconds"]),
        },
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def _delta(before: dict[str, Any], after: dict[str, Any], level: str, outcomes: tuple[str, ...]) -> int:
    def total(stats: dict[str, Any]) -> int:
        return sum(stats.get(t, {}).get(level, {}).get(o, 0) for t in stats for o in outcomes)

    return total(after) - total(before)
