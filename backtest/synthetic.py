"""History made from the exchange simulator's market functions: the candles and funding rates the simulator
would serve for a range, written straight into a store (no HTTP). For the tests' sample set and B6."""

from __future__ import annotations

import numpy as np

from backtest.history import Store, timeframe_ms, write_candles, write_funding
from services.exchange_sim.funding import funding_rate
from services.exchange_sim.market import MINUTE_MS, SyntheticMarket
from shared.perps import funding_times


def unified(exchange_id: str) -> str:
    base, quote = exchange_id.split("-")
    return f"{base}/{quote}:{quote}"


def write_synthetic(
    store: Store, market: SyntheticMarket, count: int, timeframe: str, start_ms: int, end_ms: int
) -> list[str]:
    """The first ``count`` symbols' closed candles opening in ``[start_ms, end_ms)``, and their funding."""
    step = timeframe_ms(timeframe) // MINUTE_MS
    first = start_ms // MINUTE_MS // step * step
    buckets = (end_ms // MINUTE_MS - first) // step
    symbols = []
    for spec in market.symbols[:count]:
        minutes = market.minute_candles(spec, first, buckets * step, end_ms).reshape(buckets, step, 5)
        rows = np.column_stack(
            [
                (first + np.arange(buckets) * step) * MINUTE_MS,
                minutes[:, 0, 0],
                minutes[:, :, 1].max(axis=1),
                minutes[:, :, 2].min(axis=1),
                minutes[:, -1, 3],
                minutes[:, :, 4].sum(axis=1),
            ]
        )
        symbol = unified(spec.exchange_id)
        write_candles(store.candles_path(timeframe, symbol), rows)
        times = funding_times(start_ms - 1, end_ms)
        write_funding(store.funding_path(symbol), np.array([[t, funding_rate(market, spec, t)] for t in times]))
        symbols.append(symbol)
    return symbols
