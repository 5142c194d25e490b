"""Ranking the whole market from tickers alone, then refining the top candidates with candles.

Each factor is turned into a percentile rank across the markets that passed the filters, so factors
with different units weigh as configured: volume (liquidity), momentum (|24h change|), volatility
(24h range over price), minus a spread penalty. Candles then confirm or discount the top candidates:
a steady recent trend scores up, a choppy one down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from services.scout.filters import Columns, TickerLike, spreads_bps


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


def percentiles(values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Rank in [0, 1] along the last axis among the ``valid`` markets: 1 for the largest, 0 for the
    smallest; ties share the same rank. A row with one valid market ranks it 1."""
    array = np.atleast_2d(np.asarray(values, dtype=float))
    ok = np.ones(array.shape, dtype=bool) if valid is None else np.atleast_2d(valid)
    below = ((array[..., None, :] < array[..., :, None]) & ok[..., None, :]).sum(axis=-1)
    count = ok.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ranks = np.where(count > 1, below / (count - 1), 1.0)
    return np.asarray(np.where(ok, ranks, np.nan), dtype=float).reshape(np.shape(values))


@dataclass(frozen=True)
class Factors:
    """The ranking's inputs for many markets (any shape; backtests: time x symbols)."""

    volume: np.ndarray  # log10 of the 24 h quote volume
    momentum: np.ndarray  # |24 h change| in %
    volatility: np.ndarray  # 24 h range over the price, in %
    spread: np.ndarray  # bps

    @classmethod
    def of(cls, markets: Columns) -> Factors:
        with np.errstate(invalid="ignore", divide="ignore"):
            volume = np.log10(np.maximum(np.nan_to_num(markets.quote_volume, nan=1.0), 1.0))
            last = np.where(np.isfinite(markets.last) & (markets.last != 0), markets.last, 1.0)
            volatility = (np.nan_to_num(markets.high) - np.nan_to_num(markets.low)) / last * 100
        momentum = np.abs(np.nan_to_num(markets.change_pct))
        spread = np.nan_to_num(spreads_bps(markets.bid, markets.ask))
        return cls(volume, momentum, volatility, spread)


@dataclass(frozen=True)
class Ranks:
    volume: np.ndarray
    momentum: np.ndarray
    volatility: np.ndarray
    spread: np.ndarray
    score: np.ndarray  # rounded to 6 decimals, as published


def rank(factors: Factors, valid: np.ndarray, weights: Weights = Weights()) -> Ranks:
    """Percentile ranks of each factor among the ``valid`` markets of a row, and the weighted score."""
    volume, momentum = percentiles(factors.volume, valid), percentiles(factors.momentum, valid)
    volatility, spread = percentiles(factors.volatility, valid), percentiles(factors.spread, valid)
    score = (
        weights.volume * volume
        + weights.momentum * momentum
        + weights.volatility * volatility
        - weights.spread * spread
    )
    return Ranks(volume, momentum, volatility, spread, np.round(score, 6))


def score_tickers(tickers: Sequence[TickerLike], weights: Weights = Weights()) -> list[Scored]:
    """Score every ticker; highest first. Tickers must have passed the filters (valid prices)."""
    if not tickers:
        return []
    factors = Factors.of(Columns.of(tickers))
    ranks = rank(factors, np.ones(len(tickers), dtype=bool), weights)
    scored = []
    for i, ticker in enumerate(tickers):
        reasons = [
            f"24h volume {ticker.quote_volume or 0:,.0f} (top {100 - ranks.volume[i] * 100:.0f}%)",
            f"24h change {ticker.change_pct or 0:+.2f}%",
            f"24h range {factors.volatility[i]:.2f}% of price",
            f"spread {factors.spread[i]:.1f} bps",
        ]
        volatility, spread = float(factors.volatility[i]), float(factors.spread[i])
        scored.append(Scored(ticker, float(ranks.score[i]), volatility, spread, reasons))
    scored.sort(key=lambda s: (-s.score, s.ticker.symbol))
    return scored


def consistency_rows(closes: np.ndarray, window: int) -> np.ndarray:
    """At every candle, the share of the last ``window`` closes' steps that move in the direction of the
    whole window (0 when it ends where it began); NaN until there are ``window`` closes."""
    out = np.full(len(closes), np.nan)
    if window < 3:
        out[:] = 0.5
        return out
    if len(closes) < window:
        return out
    steps = np.sign(np.diff(closes))
    ups = np.concatenate([[0], np.cumsum(steps > 0)])
    downs = np.concatenate([[0], np.cumsum(steps < 0)])
    end = np.arange(window - 1, len(closes))  # the window of closes end-window+1 .. end
    up = ups[end] - ups[end - window + 1]
    down = downs[end] - downs[end - window + 1]
    overall = np.sign(closes[end] - closes[end - window + 1])
    out[window - 1 :] = np.where(overall > 0, up, np.where(overall < 0, down, 0)) / (window - 1)
    out[window - 1 :][overall == 0] = 0.0
    return out


def trend_consistency(closes: Sequence[float]) -> float:
    """Share of recent candles moving in the direction of the whole window, in [0, 1]."""
    if len(closes) < 3:
        return 0.5
    return float(consistency_rows(np.asarray(closes, dtype=float), len(closes))[-1])


def refined(scores: np.ndarray, consistency: np.ndarray) -> np.ndarray:
    """Up to +/-0.1 added to the scores from how steady the recent trend is."""
    return np.round(scores + (consistency - 0.5) * 0.2, 6)


def refine_with_candles(candidate: Scored, closes: Sequence[float]) -> Scored:
    """Add up to +/-0.1 to the score from how steady the recent trend is."""
    consistency = trend_consistency(closes)
    reasons = [*candidate.reasons, f"recent trend consistency {consistency:.0%}"]
    return Scored(
        candidate.ticker,
        float(refined(np.array([candidate.score]), np.array([consistency]))[0]),
        candidate.volatility_pct,
        candidate.spread_bps,
        reasons,
    )
