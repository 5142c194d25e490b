"""Support and resistance from swing pivots: the nearest pivot low below the price, high above it."""

from __future__ import annotations

import numpy as np

from services.ia1.indicators import Frame

PIVOT_WINDOW = 3


def pivots(values: np.ndarray, *, highs: bool, window: int = PIVOT_WINDOW) -> list[int]:
    """Indices that are the extreme of the ``window`` candles on each side (vectorised)."""
    if len(values) < 2 * window + 1:
        return []
    windows = np.lib.stride_tricks.sliding_window_view(values, 2 * window + 1)
    extreme = windows.max(axis=1) if highs else windows.min(axis=1)
    centre = values[window : len(values) - window]
    return [int(i) + window for i in np.flatnonzero(centre == extreme)]


def support_resistance(frame: Frame) -> tuple[float | None, float | None]:
    price = float(frame.close[-1])
    lows = [float(frame.low[i]) for i in pivots(frame.low, highs=False)]
    highs = [float(frame.high[i]) for i in pivots(frame.high, highs=True)]
    support = max((x for x in lows if x < price), default=None)
    resistance = min((x for x in highs if x > price), default=None)
    return support, resistance
