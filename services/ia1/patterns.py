"""A few well-defined chart and candle patterns; each detector says yes or no at every candle.

Detectors work on whole frames (one answer per candle, using only that candle and the ones before it);
live reads the last answer (:func:`detect`), backtests read them all. A swing pivot counts only once the
``PIVOT_WINDOW`` candles after it have closed: before that nobody could know it was one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from services.ia1.indicators import Frame
from services.ia1.levels import PIVOT_WINDOW, pivots, rolling_extreme

BREAKOUT_LOOKBACK = 20
DOUBLE_TOLERANCE = 0.005  # two peaks within 0.5 % of each other


def _previous(values: np.ndarray) -> np.ndarray:
    return np.concatenate([np.full(1, np.nan), values[:-1]])


def _rolling_before(values: np.ndarray, window: int, *, highest: bool) -> np.ndarray:
    """The max (or min) of the ``window`` candles before each one; NaN until there are that many."""
    out = np.full(len(values), np.nan)
    if len(values) > window:
        out[window:] = rolling_extreme(values[:-1], window, highest=highest)
    return out


def bullish_engulfing(f: Frame) -> np.ndarray:
    po, pc = _previous(f.open), _previous(f.close)
    return (pc < po) & (f.close > f.open) & (f.open <= pc) & (f.close >= po)


def bearish_engulfing(f: Frame) -> np.ndarray:
    po, pc = _previous(f.open), _previous(f.close)
    return (pc > po) & (f.close < f.open) & (f.open >= pc) & (f.close <= po)


def breakout_up(f: Frame) -> np.ndarray:
    return f.close > _rolling_before(f.high, BREAKOUT_LOOKBACK, highest=True)


def breakout_down(f: Frame) -> np.ndarray:
    return f.close < _rolling_before(f.low, BREAKOUT_LOOKBACK, highest=False)


def last_pivots(f: Frame, *, highs: bool, count: int) -> np.ndarray:
    """For every candle, the values of the last ``count`` pivots confirmed by then, oldest first (one row
    per candle, NaN where fewer are known)."""
    series = f.high if highs else f.low
    found = np.asarray(pivots(series, highs=highs), dtype=np.int64)
    known = np.searchsorted(found + PIVOT_WINDOW, np.arange(len(series)), side="right")
    out = np.full((len(series), count), np.nan)
    for column in range(count):
        k = known - count + column
        ok = k >= 0
        out[ok, column] = series[found[k[ok]]]
    return out


def higher_highs(f: Frame) -> np.ndarray:
    peaks = last_pivots(f, highs=True, count=3)
    return (peaks[:, 0] < peaks[:, 1]) & (peaks[:, 1] < peaks[:, 2])


def lower_lows(f: Frame) -> np.ndarray:
    troughs = last_pivots(f, highs=False, count=3)
    return (troughs[:, 0] > troughs[:, 1]) & (troughs[:, 1] > troughs[:, 2])


def double_top(f: Frame) -> np.ndarray:
    peaks = last_pivots(f, highs=True, count=2)
    with np.errstate(invalid="ignore"):
        close_pair = np.abs(peaks[:, 0] - peaks[:, 1]) / peaks[:, 1] <= DOUBLE_TOLERANCE
    found: np.ndarray = close_pair & (f.close < peaks.min(axis=1) * (1 - DOUBLE_TOLERANCE))
    return found


def double_bottom(f: Frame) -> np.ndarray:
    troughs = last_pivots(f, highs=False, count=2)
    with np.errstate(invalid="ignore"):
        close_pair = np.abs(troughs[:, 0] - troughs[:, 1]) / troughs[:, 1] <= DOUBLE_TOLERANCE
    found: np.ndarray = close_pair & (f.close > troughs.max(axis=1) * (1 + DOUBLE_TOLERANCE))
    return found


# name -> (detector, vote): a bullish pattern votes +1, a bearish one -1.
PATTERNS: dict[str, tuple[Callable[[Frame], np.ndarray], int]] = {
    "bullish_engulfing": (bullish_engulfing, 1),
    "bearish_engulfing": (bearish_engulfing, -1),
    "breakout_up": (breakout_up, 1),
    "breakout_down": (breakout_down, -1),
    "higher_highs": (higher_highs, 1),
    "lower_lows": (lower_lows, -1),
    "double_bottom": (double_bottom, 1),
    "double_top": (double_top, -1),
}


def detect_all(frame: Frame) -> dict[str, np.ndarray]:
    """Every detector's answer at every candle."""
    with np.errstate(invalid="ignore"):
        return {name: np.asarray(found(frame), dtype=bool) for name, (found, _) in PATTERNS.items()}


def votes(found: dict[str, np.ndarray]) -> np.ndarray:
    """The patterns' summed vote at every candle."""
    size = len(next(iter(found.values()))) if found else 0
    total = np.zeros(size, dtype=np.int64)
    for name, hits in found.items():
        total += PATTERNS[name][1] * hits
    return total


def detect(frame: Frame) -> list[tuple[str, int]]:
    """The patterns present at the last candle, with their votes."""
    return [(name, PATTERNS[name][1]) for name, hits in detect_all(frame).items() if hits[-1]]
