"""Funding rates: a pure function of (seed, symbol, funding time), like the prices.

Each 8-hour funding time ``T`` has its own rate, rounded to 6 decimals, between -0.02 % and +0.04 %
(BingX's neutral rate is +0.01 %). The premium index shows, before ``T``, the rate that will be charged
at ``T``; the history lists the rates of past funding times, never one before the symbol's listing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from services.exchange_sim.market import SymbolSpec, SyntheticMarket, uniform
from shared.perps import FUNDING_INTERVAL_MS, next_funding_time

NEUTRAL_RATE = 0.0001
RATE_SPREAD = 0.0006
MAX_HISTORY = 1000


def funding_rate(market: SyntheticMarket, spec: SymbolSpec, funding_time_ms: int) -> float:
    draw = float(uniform(market.seed, 7000 + spec.index, np.array([funding_time_ms // FUNDING_INTERVAL_MS]))[0])
    return round(NEUTRAL_RATE + (draw - 0.5) * RATE_SPREAD, 6)


def premium_index(market: SyntheticMarket, spec: SymbolSpec, now_ms: int) -> dict[str, Any]:
    """BingX's ``quote/premiumIndex`` row: mark and index price, the next funding time and its rate."""
    mark = market.price_now(spec, now_ms)
    upcoming = next_funding_time(now_ms)
    return {
        "symbol": spec.exchange_id,
        "markPrice": f"{mark:.{spec.price_decimals + 2}f}",
        "indexPrice": f"{mark:.{spec.price_decimals + 2}f}",
        "lastFundingRate": f"{funding_rate(market, spec, upcoming):.6f}",
        "nextFundingTime": upcoming,
        "fundingIntervalHours": 8,
        "updateTime": now_ms,
    }


def rate_history(
    market: SyntheticMarket,
    spec: SymbolSpec,
    *,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    now_ms: int,
    listed_ms: int,
) -> list[dict[str, Any]]:
    """Past funding times in [start, end] (oldest first): from ``start`` forward when given, else the
    latest ``limit`` up to ``end`` or now."""
    last = min(end_ms if end_ms is not None else now_ms, now_ms) // FUNDING_INTERVAL_MS * FUNDING_INTERVAL_MS
    first_allowed = -(-listed_ms // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
    if start_ms is not None:
        first = max(-(-start_ms // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS, first_allowed)
        times = list(range(first, last + 1, FUNDING_INTERVAL_MS))[:limit]
    else:
        first = max(last - (limit - 1) * FUNDING_INTERVAL_MS, first_allowed)
        times = list(range(first, last + 1, FUNDING_INTERVAL_MS))
    return [
        {"symbol": spec.exchange_id, "fundingRate": f"{funding_rate(market, spec, t):.6f}", "fundingTime": t}
        for t in times
    ]
