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
VOLUME_WINDOW = 20  # volume_ratio: the last candle's volume over the mean of the 20 before it


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


def series(frame: Frame) -> dict[str, np.ndarray]:
    """Every indicator over the whole frame, one value per candle (NaN while warming up).

    Each value at candle ``t`` depends only on candles up to ``t``: live reads the last row
    (:func:`compute`), backtests compute this once per symbol and read the rows in turn.
    """
    c, h, low, v = frame.close, frame.high, frame.low, frame.volume
    macd, signal, hist = talib.MACD(c, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(c, 20, 2.0, 2.0)
    atr = talib.ATR(h, low, c, 14)
    nan = np.full(1, np.nan)
    values = {
        "rsi": talib.RSI(c, 14),
        "macd": macd,
        "macd_signal": signal,
        "macd_hist": hist,
        "macd_hist_prev": np.concatenate([nan, hist[:-1]]),
        "bb_upper": upper,
        "bb_middle": middle,
        "bb_lower": lower,
        "ema_fast": talib.EMA(c, 12),
        "ema_slow": talib.EMA(c, 26),
        "ema_trend": talib.EMA(c, 50),
        "adx": talib.ADX(h, low, c, 14),
        "plus_di": talib.PLUS_DI(h, low, c, 14),
        "minus_di": talib.MINUS_DI(h, low, c, 14),
        "atr": atr,
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        values["bb_width_pct"] = np.where(middle != 0, (upper - lower) / middle * 100, np.nan)
        values["atr_pct"] = atr / c * 100
        mean_volume = np.full(len(v), np.nan)  # the mean of the 20 candles before each one
        if len(v) > VOLUME_WINDOW:
            windows = np.lib.stride_tricks.sliding_window_view(v[:-1], VOLUME_WINDOW)
            mean_volume[VOLUME_WINDOW:] = windows.mean(axis=1)
        values["volume_ratio"] = np.where(mean_volume > 0, v / mean_volume, np.nan)
    values["close"] = c
    return values


def last_row(values: dict[str, np.ndarray], row: int = -1) -> dict[str, float]:
    """One candle's indicators as live publishes them: rounded, and without what is not computed yet."""
    picked = {k: float(array[row]) for k, array in values.items()}
    return {k: round(val, 10) for k, val in picked.items() if math.isfinite(val)}


def compute(frame: Frame) -> dict[str, float]:
    """Latest value of every indicator, keyed by name (with the volume profile of the whole frame)."""
    return last_row(series(frame)) | profile_values(frame)


def profile_values(frame: Frame) -> dict[str, float]:
    """The frame's volume profile as indicators (rounded like the others)."""
    poc, low, high = volume_profile(frame)
    profile = {"vp_poc": poc, "vp_value_area_low": low, "vp_value_area_high": high}
    return {k: round(val, 10) for k, val in profile.items() if math.isfinite(val)}
