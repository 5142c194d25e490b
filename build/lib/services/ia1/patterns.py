"""A few well-defined chart and candle patterns; each detector says yes or no for the latest candles."""

from __future__ import annotations

from collections.abc import Callable

from services.ia1.indicators import Frame
from services.ia1.levels import pivots

BREAKOUT_LOOKBACK = 20
DOUBLE_TOLERANCE = 0.005  # two peaks within 0.5 % of each other


def bullish_engulfing(f: Frame) -> bool:
    return bool(
        f.close[-2] < f.open[-2]
        and f.close[-1] > f.open[-1]
        and f.open[-1] <= f.close[-2]
        and f.close[-1] >= f.open[-2]
    )


def bearish_engulfing(f: Frame) -> bool:
    return bool(
        f.close[-2] > f.open[-2]
        and f.close[-1] < f.open[-1]
        and f.open[-1] >= f.close[-2]
        and f.close[-1] <= f.open[-2]
    )


def breakout_up(f: Frame) -> bool:
    return bool(f.close[-1] > f.high[-BREAKOUT_LOOKBACK - 1 : -1].max())


def breakout_down(f: Frame) -> bool:
    return bool(f.close[-1] < f.low[-BREAKOUT_LOOKBACK - 1 : -1].min())


def _last_pivots(f: Frame, *, highs: bool, count: int) -> list[float]:
    series = f.high if highs else f.low
    return [float(series[i]) for i in pivots(series, highs=highs)[-count:]]


def higher_highs(f: Frame) -> bool:
    peaks = _last_pivots(f, highs=True, count=3)
    return len(peaks) == 3 and peaks[0] < peaks[1] < peaks[2]


def lower_lows(f: Frame) -> bool:
    troughs = _last_pivots(f, highs=False, count=3)
    return len(troughs) == 3 and troughs[0] > troughs[1] > troughs[2]


def double_top(f: Frame) -> bool:
    peaks = _last_pivots(f, highs=True, count=2)
    if len(peaks) < 2 or abs(peaks[0] - peaks[1]) / peaks[1] > DOUBLE_TOLERANCE:
        return False
    return bool(f.close[-1] < min(peaks) * (1 - DOUBLE_TOLERANCE))


def double_bottom(f: Frame) -> bool:
    troughs = _last_pivots(f, highs=False, count=2)
    if len(troughs) < 2 or abs(troughs[0] - troughs[1]) / troughs[1] > DOUBLE_TOLERANCE:
        return False
    return bool(f.close[-1] > max(troughs) * (1 + DOUBLE_TOLERANCE))


# name -> (detector, vote): a bullish pattern votes +1, a bearish one -1.
PATTERNS: dict[str, tuple[Callable[[Frame], bool], int]] = {
    "bullish_engulfing": (bullish_engulfing, 1),
    "bearish_engulfing": (bearish_engulfing, -1),
    "breakout_up": (breakout_up, 1),
    "breakout_down": (breakout_down, -1),
    "higher_highs": (higher_highs, 1),
    "lower_lows": (lower_lows, -1),
    "double_bottom": (double_bottom, 1),
    "double_top": (double_top, -1),
}


def detect(frame: Frame) -> list[tuple[str, int]]:
    return [(name, vote) for name, (found, vote) in PATTERNS.items() if found(frame)]
