"""Support and resistance from swing pivots: the nearest pivot low below the price, high above it."""

from __future__ import annotations

import numpy as np

from services.ia1.indicators import Frame

PIVOT_WINDOW = 3


def rolling_extreme(values: np.ndarray, size: int, *, highest: bool) -> np.ndarray:
    """The max (or min) of every run of ``size`` consecutive values (``len(values) - size + 1`` of them), by
    doubling spans: a few whole-array operations instead of a reduction per window."""
    pick = np.maximum if highest else np.minimum
    result, span = values, 1
    while span * 2 <= size:  # result[i]: the extreme of values[i : i + span]
        result = pick(result[:-span], result[span:])
        span *= 2
    if span < size:  # two overlapping spans cover the window exactly
        result = pick(result[: len(values) - size + 1], result[size - span : size - span + len(values) - size + 1])
    return np.asarray(result[: len(values) - size + 1], dtype=np.float64)


def pivots(values: np.ndarray, *, highs: bool, window: int = PIVOT_WINDOW) -> list[int]:
    """Indices that are the extreme of the ``window`` candles on each side (vectorised)."""
    if len(values) < 2 * window + 1:
        return []
    extreme = rolling_extreme(values, 2 * window + 1, highest=highs)
    centre = values[window : len(values) - window]
    return [int(i) + window for i in np.flatnonzero(centre == extreme)]


def support_resistance(frame: Frame) -> tuple[float | None, float | None]:
    price = float(frame.close[-1])
    lows = [float(frame.low[i]) for i in pivots(frame.low, highs=False)]
    highs = [float(frame.high[i]) for i in pivots(frame.high, highs=True)]
    support = max((x for x in lows if x < price), default=None)
    resistance = min((x for x in highs if x > price), default=None)
    return support, resistance
