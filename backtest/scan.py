"""scout across the market at every decision time: its filters and ranking on time x symbols arrays.

At each primary close, every symbol's 24 h ticker (from its candles; the spread from
``BACKTEST_SPREAD_BPS``) goes through scout's filters, the percentile ranking picks ``SCOUT_CANDIDATES``,
their trend consistency refines the score, and the best come out in order; the engine publishes the
first ``SCOUT_TOP_N`` that are not within ``SCOUT_REPUBLISH_AFTER_S`` of their last publication, as the
scanner does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backtest.features import SymbolFeatures
from services.scout.filters import Columns, default_filters
from services.scout.scoring import Factors, rank, refined
from services.scout.settings import ScoutSettings


@dataclass(frozen=True)
class Ranking:
    grid: np.ndarray  # decision times (primary closes), ms
    rows: np.ndarray  # [time, symbol] -> the symbol's primary row at that time, -1 if none
    order: np.ndarray  # [time, k] -> symbol indices, best first (-1 past the candidates)
    score: np.ndarray  # [time, symbol] refined score (NaN if not a candidate)
    factors: Factors  # [time, symbol]
    markets: Columns


def grid_of(features: Sequence[SymbolFeatures]) -> tuple[np.ndarray, np.ndarray]:
    grid = np.unique(np.concatenate([f.close_ms for f in features])) if features else np.empty(0, np.int64)
    rows = np.full((len(grid), len(features)), -1, dtype=np.int64)
    for s, f in enumerate(features):
        at = np.searchsorted(grid, f.close_ms)
        rows[at, s] = np.arange(len(f.close_ms))
    return grid, rows


def _matrix(features: Sequence[SymbolFeatures], rows: np.ndarray, pick: str) -> np.ndarray:
    out = np.full(rows.shape, np.nan)
    for s, f in enumerate(features):
        present = rows[:, s] >= 0
        source = f.consistency if pick == "consistency" else f.market[pick]
        out[present, s] = source[rows[present, s]]
    return out


def rank_market(features: Sequence[SymbolFeatures], settings: ScoutSettings, spread_bps: float) -> Ranking:
    grid, rows = grid_of(features)
    last = _matrix(features, rows, "last")
    half = last * spread_bps / 20_000
    markets = Columns(
        symbols=np.broadcast_to(np.array([f.symbol for f in features], dtype=object), rows.shape),
        last=last,
        bid=last - half,
        ask=last + half,
        high=_matrix(features, rows, "high"),
        low=_matrix(features, rows, "low"),
        quote_volume=_matrix(features, rows, "quote_volume"),
        change_pct=_matrix(features, rows, "change_pct"),
    )
    ready = np.zeros(rows.shape, dtype=bool)
    for s, f in enumerate(features):
        present = rows[:, s] >= 0
        ready[present, s] = f.ready[rows[present, s]]
    valid = ready & np.isfinite(last)
    for market_filter in default_filters(
        quote=settings.scout_quote,
        min_quote_volume=settings.scout_min_quote_volume,
        max_spread_bps=settings.scout_max_spread_bps,
    ):
        valid &= market_filter.keeps(markets)
    factors = Factors.of(markets)
    scores = rank(factors, valid).score
    # The candidates: the best SCOUT_CANDIDATES by score (ties: symbol order, as the scanner sorts).
    by_score = np.argsort(np.where(valid, -scores, np.inf), axis=1, kind="stable")
    position = np.argsort(by_score, axis=1, kind="stable")
    consistency = _matrix(features, rows, "consistency")
    candidate = valid & (position < settings.scout_candidates) & np.isfinite(consistency)
    final = np.where(candidate, refined(scores, consistency), np.nan)
    order = np.argsort(np.where(candidate, -final, np.inf), axis=1, kind="stable")
    order = np.where(np.take_along_axis(candidate, order, axis=1), order, -1)[:, : settings.scout_candidates]
    return Ranking(grid, rows, order, final, factors, markets)
