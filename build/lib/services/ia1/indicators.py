"""Indicators on one timeframe's candles, with TA-Lib, plus a small numpy volume profile.

Values that TA-Lib cannot compute yet (warm-up NaNs) are simply absent: no NaN or infinity ever
leaves this module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import talib

from shared.errors import BadRequestError

Rows = Sequence[Sequence[float]]  # [ts_ms, open, high, low, close, volume], oldest first

MIN_CANDLES = 50
VALUE_AREA = 0.70
PROFILE_BINS = 24


@dataclass(frozen=True)
class Frame:
    """One timeframe's candles as float arrays, validated once."""

    timestamps: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_rows(cls, rows: Rows, timeframe: str) -> Frame:
        if len(rows) < MIN_CANDLES:
            raise BadRequestError(f"{timeframe}: {len(rows)} candles, at least {MIN_CANDLES} are needed")
        try:
            data = np.asarray(rows, dtype=np.float64)
        except ValueError:
            raise BadRequestError(f"{timeframe}: candles must be rows of 6 numbers") from None
        if data.ndim != 2 or data.shape[1] != 6:
            raise BadRequestError(f"{timeframe}: candles must be rows [ts, open, high, low, close, volume]")
        if not np.isfinite(data).all():
            raise BadRequestError(f"{timeframe}: candles contain NaN or infinite values")
        if (data[:, 1:5] <= 0).any() or (data[:, 5] < 0).any():
            raise BadRequestError(f"{timeframe}: prices must be positive and volumes non-negative")
        if (np.diff(data[:, 0]) <= 0).any():
            raise BadRequestError(f"{timeframe}: candle timestamps must increase")
        return cls(data[:, 0], data[:, 1], data[:, 2], data[:, 3], data[:, 4], data[:, 5])


def _last(values: np.ndarray) -> float | None:
    value = float(values[-1])
    return value if math.isfinite(value) else None


def volume_profile(frame: Frame) -> tuple[float, float, float]:
    """(point of control, value-area low, value-area high) from volume binned by typical price."""
    typical = (frame.high + frame.low + frame.close) / 3
    low, high = float(frame.low.min()), float(frame.high.max())
    if high <= low:
        return low, low, high
    counts, edges = np.histogram(typical, bins=PROFILE_BINS, range=(low, high), weights=frame.volume)
    centers = (edges[:-1] + edges[1:]) / 2
    poc = int(np.argmax(counts))
    total = counts.sum()
    if total <= 0:
        return float(centers[poc]), low, high
    lo = hi = poc
    covered = counts[poc]
    while covered < VALUE_AREA * total and (lo > 0 or hi < len(counts) - 1):
        below = counts[lo - 1] if lo > 0 else -1.0
        above = counts[hi + 1] if hi < len(counts) - 1 else -1.0
        if above >= below:
            hi += 1
            covered += counts[hi]
        else:
            lo -= 1
            covered += counts[lo]
    return float(centers[poc]), float(edges[lo]), float(edges[hi + 1])


def compute(frame: Frame) -> dict[str, float]:
    """Latest value of every indicator, keyed by name."""
    c, h, low, v = frame.close, frame.high, frame.low, frame.volume
    macd, signal, hist = talib.MACD(c, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0)
    atr = talib.ATR(h, low, c, 14)
    values = {
        "rsi": _last(talib.RSI(c, 14)),
        "macd": _last(macd),
        "macd_signal": _last(signal),
        "macd_hist": _last(hist),
        "macd_hist_prev": float(hist[-2]) if math.isfinite(hist[-2]) else None,
        "bb_upper": _last(upper),
        "bb_middle": _last(middle),
        "bb_lower": _last(lower),
        "ema_fast": _last(talib.EMA(c, 12)),
        "ema_slow": _last(talib.EMA(c, 26)),
        "ema_trend": _last(talib.EMA(c, 50)),
        "adx": _last(talib.ADX(h, low, c, 14)),
        "plus_di": _last(talib.PLUS_DI(h, low, c, 14)),
        "minus_di": _last(talib.MINUS_DI(h, low, c, 14)),
        "atr": _last(atr),
    }
    last = float(c[-1])
    if values["bb_upper"] is not None and values["bb_lower"] is not None and values["bb_middle"]:
        values["bb_width_pct"] = (values["bb_upper"] - values["bb_lower"]) / values["bb_middle"] * 100
    if values["atr"] is not None:
        values["atr_pct"] = values["atr"] / last * 100
    mean_volume = float(v[-21:-1].mean())
    values["volume_ratio"] = float(v[-1]) / mean_volume if mean_volume > 0 else None
    values["vp_poc"], values["vp_value_area_low"], values["vp_value_area_high"] = volume_profile(frame)
    values["close"] = last
    return {k: round(val, 10) for k, val in values.items() if val is not None and math.isfinite(val)}
