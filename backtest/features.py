"""Everything the pipeline reads about one symbol, computed once over its whole history by the live code.

The data's timeframe is the finest the backtest sees. Each timeframe the settings name that is a
multiple of it (``IA1_TIMEFRAMES``, scout's ``SCOUT_TIMEFRAME``, the correlation's 1h) is aggregated
from it, complete candles only; finer ones are left out (the report says which). ia1's indicators,
readings, patterns and their combination are computed over each whole series by the functions live
calls (live reads their last row), and aligned on the primary timeframe's candles: at the close of a
primary candle, a timeframe contributes its last candle closed by then. Nothing here reads a candle
that closes after the row it answers for; ``tradepipe lookahead`` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backtest.history import Candles, timeframe_ms
from services.ia1.analyst import AnalystConfig, Combined, Readings, combine, read_arrays
from services.ia1.indicators import MIN_CANDLES, Frame, series
from services.ia1.levels import rolling_extreme
from services.ia1.patterns import detect_all, votes
from services.scout.scoring import consistency_rows
from shared.errors import BadRequestError

DAY_MS = 86_400_000
CORRELATION_TIMEFRAME = "1h"  # ia2 correlates 1h closes (services/ia2/app.py)


def aggregate(candles: Candles, base_ms: int, step_ms: int) -> Candles:
    """Candles of ``step_ms`` from those of ``base_ms``: complete buckets only (a bucket with a missing
    candle, or still in progress at the end of the data, is left out)."""
    if step_ms == base_ms or not len(candles):
        return candles
    bucket = candles.ts // step_ms
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(bucket)]
    full = (ends - starts) == step_ms // base_ms
    return Candles(
        bucket[starts][full] * step_ms,
        candles.open[starts][full],
        np.maximum.reduceat(candles.high, starts)[full],
        np.minimum.reduceat(candles.low, starts)[full],
        candles.close[ends - 1][full],
        np.add.reduceat(candles.volume, starts)[full],
    )


def frame_of(candles: Candles) -> Frame:
    return Frame(candles.ts.astype(np.float64), candles.open, candles.high, candles.low, candles.close, candles.volume)


def _aligned(close_ms: np.ndarray, at_ms: np.ndarray) -> np.ndarray:
    """For each time in ``at_ms``, the index of the last candle closed by then (-1: none yet)."""
    return np.searchsorted(close_ms, at_ms, side="right") - 1


def _pick(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    out = np.where(index >= 0, values[np.maximum(index, 0)], np.nan)
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class Plan:
    """Which timeframes the backtest reads, from the data's timeframe and the settings."""

    data: str
    analysis: tuple[str, ...]  # IA1_TIMEFRAMES that can be built from the data
    dropped: tuple[str, ...]  # those that cannot (finer than the data, or not a multiple)
    primary: str
    scout: str
    correlation: str

    @classmethod
    def of(cls, data: str, ia1_timeframes: tuple[str, ...], primary: str, scout: str) -> Plan:
        base = timeframe_ms(data)

        def usable(tf: str) -> bool:
            try:
                return timeframe_ms(tf) % base == 0
            except BadRequestError:
                return False

        if not usable(primary):
            raise BadRequestError(
                f"IA1_PRIMARY_TIMEFRAME {primary} cannot be built from {data} candles: download {primary} or finer"
            )
        analysis = tuple(tf for tf in ia1_timeframes if usable(tf))
        analysis = analysis if primary in analysis else (*analysis, primary)
        dropped = tuple(tf for tf in ia1_timeframes if not usable(tf))
        correlation = CORRELATION_TIMEFRAME if usable(CORRELATION_TIMEFRAME) else primary
        return cls(data, analysis, dropped, primary, scout if usable(scout) else primary, correlation)


@dataclass(frozen=True)
class SymbolFeatures:
    symbol: str
    base: Candles  # the data, as stored
    primary: Candles
    close_ms: np.ndarray  # each primary candle's close: when a decision on it is made
    values: dict[str, np.ndarray]  # the primary timeframe's indicators at every primary candle
    readings: Readings  # the primary timeframe's readings
    combined: Combined  # every timeframe and the patterns, combined
    patterns: dict[str, np.ndarray]
    ready: np.ndarray  # every timeframe has MIN_CANDLES closed candles: live would analyse
    market: dict[str, np.ndarray]  # scout's view at each primary close: last, high, low, quote_volume, change_pct
    consistency: np.ndarray  # scout's trend consistency at each primary close
    correlation: Candles  # closes ia2 correlates
    funding: tuple[np.ndarray, np.ndarray]  # (times, rates)

    def inspected(self) -> dict[str, np.ndarray]:
        """Every per-row series a decision reads, by name: what ``tradepipe lookahead`` compares."""
        named = {f"indicator {k}": v for k, v in self.values.items()}
        named |= {f"pattern {k}": v.astype(np.float64) for k, v in self.patterns.items()}
        named |= {f"reading {tf}": v.astype(np.float64) for tf, v in self.combined.per_tf.items()}
        named |= {"ia1 score": self.combined.score, "ia1 confidence": self.combined.confidence}
        named |= {f"scout {k}": v for k, v in self.market.items()}
        named |= {"scout consistency": self.consistency}
        return named


def _market_view(base: Candles, base_ms: int, close_ms: np.ndarray) -> dict[str, np.ndarray]:
    """The 24 h ticker live would read at each time: last, 24 h high and low, quote volume, change."""
    n = DAY_MS // base_ms
    j = _aligned(base.ts + base_ms, close_ms)
    first = j - n + 1
    ok = first >= 0
    quote = np.concatenate([[0.0], np.cumsum(base.volume * (base.high + base.low + base.close) / 3)])
    high = np.full(len(base), np.nan)
    low = np.full(len(base), np.nan)
    if len(base) >= n:
        high[n - 1 :] = rolling_extreme(base.high, n, highest=True)
        low[n - 1 :] = rolling_extreme(base.low, n, highest=False)
    safe_j, safe_first = np.maximum(j, 0), np.maximum(first, 0)
    return {
        "last": np.where(ok, base.close[safe_j], np.nan),
        "high": np.where(ok, high[safe_j], np.nan),
        "low": np.where(ok, low[safe_j], np.nan),
        "quote_volume": np.where(ok, quote[safe_j + 1] - quote[safe_first], np.nan),
        "change_pct": np.where(ok, (base.close[safe_j] / base.open[safe_first] - 1) * 100, np.nan),
    }


def compute_features(
    symbol: str,
    base: Candles,
    plan: Plan,
    config: AnalystConfig,
    scout_candles: int,
    funding: tuple[np.ndarray, np.ndarray],
) -> SymbolFeatures:
    base_ms = timeframe_ms(plan.data)
    built = {tf: aggregate(base, base_ms, timeframe_ms(tf)) for tf in {*plan.analysis, plan.scout, plan.correlation}}
    primary = built[plan.primary]
    close_ms = primary.ts + timeframe_ms(plan.primary)
    scores: dict[str, np.ndarray] = {}
    ready = np.ones(len(primary), dtype=bool)
    values: dict[str, np.ndarray] = {}
    readings: Readings | None = None
    with np.errstate(invalid="ignore", divide="ignore"):
        for tf in plan.analysis:
            candles = built[tf]
            index = _aligned(candles.ts + timeframe_ms(tf), close_ms)
            ready &= index >= MIN_CANDLES - 1
            if len(candles) == 0:
                scores[tf] = np.full(len(primary), np.nan)
                continue
            ind = series(frame_of(candles))
            read = read_arrays(ind, config)
            scores[tf] = _pick(read.score, index)
            if tf == plan.primary:
                values, readings = ind, read
        patterns = detect_all(frame_of(primary)) if len(primary) else {}
        combined = combine(scores, votes(patterns) if patterns else np.zeros(len(primary)), config)
        scout = built[plan.scout]
        consistency = _pick(
            consistency_rows(scout.close, scout_candles), _aligned(scout.ts + timeframe_ms(plan.scout), close_ms)
        )
    assert readings is not None or len(primary) == 0
    empty = np.zeros(len(primary))
    return SymbolFeatures(
        symbol=symbol,
        base=base,
        primary=primary,
        close_ms=close_ms,
        values=values,
        readings=readings or Readings(empty, empty, empty, empty),
        combined=combined,
        patterns=patterns,
        ready=ready,
        market=_market_view(base, base_ms, close_ms),
        consistency=consistency,
        correlation=built[plan.correlation],
        funding=funding,
    )
