"""Ranking the whole market from tickers alone, then refining the top candidates with candles.

Each factor is turned into a percentile rank across the markets that passed the filters, so factors
with different units weigh as configured: volume (liquidity), momentum (|24h change|), volatility
(24h range over price), minus a spread penalty. Candles then confirm or discount the top candidates:
a steady recent trend scores up, a choppy one down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from services.scout.filters import TickerLike, spread_bps


@dataclass(frozen=True)
class Weights:
    volume: float = 0.35
    momentum: float = 0.30
    volatility: float = 0.25
    spread: float = 0.10


@dataclass
class Scored:
    ticker: TickerLike
    score: float
    volatility_pct: float
    spread_bps: float
    reasons: list[str] = field(default_factory=list)


def _percentiles(values: Sequence[float]) -> np.ndarray:
    """Rank in [0, 1]: 1 for the largest value. Ties share the same rank."""
    array = np.asarray(values, dtype=float)
    if len(array) == 1:
        return np.ones(1)
    order = array.argsort().argsort()
    return np.asarray(order / (len(array) - 1), dtype=float)


def score_tickers(tickers: Sequence[TickerLike], weights: Weights = Weights()) -> list[Scored]:
    """Score every ticker; highest first. Tickers must have passed the filters (valid prices)."""
    if not tickers:
        return []
    volume = [math.log10(max(t.quote_volume or 1.0, 1.0)) for t in tickers]
    momentum = [abs(t.change_pct or 0.0) for t in tickers]
    volatility = [((t.high or 0.0) - (t.low or 0.0)) / (t.last or 1.0) * 100 for t in tickers]
    spreads = [spread_bps(t) or 0.0 for t in tickers]
    ranks = {
        "volume": _percentiles(volume),
        "momentum": _percentiles(momentum),
        "volatility": _percentiles(volatility),
        "spread": _percentiles(spreads),
    }
    scored = []
    for i, ticker in enumerate(tickers):
        score = (
            weights.volume * ranks["volume"][i]
            + weights.momentum * ranks["momentum"][i]
            + weights.volatility * ranks["volatility"][i]
            - weights.spread * ranks["spread"][i]
        )
        reasons = [
            f"24h volume {ticker.quote_volume or 0:,.0f} (top {100 - ranks['volume'][i] * 100:.0f}%)",
            f"24h change {ticker.change_pct or 0:+.2f}%",
            f"24h range {volatility[i]:.2f}% of price",
            f"spread {spreads[i]:.1f} bps",
        ]
        scored.append(Scored(ticker, round(float(score), 6), volatility[i], spreads[i], reasons))
    scored.sort(key=lambda s: (-s.score, s.ticker.symbol))
    return scored


def trend_consistency(closes: Sequence[float]) -> float:
    """Share of recent candles moving in the direction of the whole window, in [0, 1]."""
    if len(closes) < 3:
        return 0.5
    array = np.asarray(closes, dtype=float)
    steps = np.sign(np.diff(array))
    overall = np.sign(array[-1] - array[0])
    if overall == 0:
        return 0.0
    return float(np.mean(steps == overall))


def refine_with_candles(candidate: Scored, closes: Sequence[float]) -> Scored:
    """Add up to +/-0.1 to the score from how steady the recent trend is."""
    consistency = trend_consistency(closes)
    adjustment = (consistency - 0.5) * 0.2
    reasons = [*candidate.reasons, f"recent trend consistency {consistency:.0%}"]
    return Scored(
        candidate.ticker,
        round(candidate.score + adjustment, 6),
        candidate.volatility_pct,
        candidate.spread_bps,
        reasons,
    )
