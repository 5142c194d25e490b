"""Candles as BingX serves them: aligned intervals, paging from ``startTime``, nothing before listing.

- A candle of any interval aggregates the 1-minute candles inside it (the long ones, 3d/1w/1M, every
  Nth minute: same trend, bounded cost). Completed candles are the same on every read; the last one is
  in progress up to the clock.
- Alignment: multiples of the interval since the epoch (UTC), except weeks, which start on Monday
  00:00 UTC, and months, which are calendar months.
- Paging: with ``startTime`` the answer is up to ``limit`` candles opening at or after it, oldest first
  (``endTime`` and the clock cut it short); without, the ``limit`` candles up to ``endTime`` or now.
- Listing: each symbol has a listing time (``SIM_LISTED_FROM_MS`` plus one day per symbol index, or
  set by the admin API). No candle opens before the bucket holding it and no minute before it is
  counted, so paging backwards or forwards terminates.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

import numpy as np

from services.exchange_sim.market import INTERVAL_MINUTES, MINUTE_MS, SymbolSpec, SyntheticMarket

DAY_MS = 86_400_000
WEEK_OFFSET_MIN = 4 * 1440  # the epoch was a Thursday; weeks start on Monday (1970-01-05)
COARSE_STRIDE = {"3d": 15, "1w": 30, "1M": 120}
MAX_LIMIT = 1440


class Listings:
    """When each symbol was listed: a default per symbol index, overridable (admin API)."""

    def __init__(self, market: SyntheticMarket, listed_from_ms: int) -> None:
        self._defaults = {s.exchange_id: listed_from_ms + s.index * DAY_MS for s in market.symbols}
        self._overrides: dict[str, int] = {}

    def of(self, spec: SymbolSpec) -> int:
        return self._overrides.get(spec.exchange_id, self._defaults[spec.exchange_id])

    def set(self, symbol: str, listed_at_ms: int) -> None:
        self._overrides[symbol] = listed_at_ms

    def reset(self) -> None:
        self._overrides.clear()


def bucket_start(interval: str, minute: int) -> int:
    """The first minute of the ``interval`` candle holding ``minute``."""
    if interval == "1M":
        day = datetime.fromtimestamp(minute * 60, UTC)
        return int(datetime(day.year, day.month, 1, tzinfo=UTC).timestamp()) // 60
    step = INTERVAL_MINUTES[interval]
    offset = WEEK_OFFSET_MIN if interval == "1w" else 0
    return (minute - offset) // step * step + offset


def next_bucket(interval: str, start: int) -> int:
    if interval == "1M":
        day = datetime.fromtimestamp(start * 60, UTC)
        days = calendar.monthrange(day.year, day.month)[1]
        return start + days * 1440
    return start + INTERVAL_MINUTES[interval]


def _bucket_range(
    interval: str, start_ms: int | None, end_ms: int | None, limit: int, now_ms: int, listed_ms: int
) -> list[int]:
    """The opening minutes of the candles to answer, oldest first."""
    last_minute = min(end_ms if end_ms is not None else now_ms, now_ms) // MINUTE_MS
    first_allowed = bucket_start(interval, -(-listed_ms // MINUTE_MS))
    if start_ms is not None:
        bucket = bucket_start(interval, -(-start_ms // MINUTE_MS))
        if bucket * MINUTE_MS < start_ms:
            bucket = next_bucket(interval, bucket)
        bucket = max(bucket, first_allowed)
        starts: list[int] = []
        while bucket <= last_minute and len(starts) < limit:
            starts.append(bucket)
            bucket = next_bucket(interval, bucket)
        return starts
    bucket = bucket_start(interval, last_minute)
    backwards: list[int] = []
    while bucket >= first_allowed and len(backwards) < limit:
        backwards.append(bucket)
        bucket = bucket_start(interval, bucket - 1)
    return backwards[::-1]


def candles(
    market: SyntheticMarket,
    spec: SymbolSpec,
    interval: str,
    *,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    now_ms: int,
    listed_ms: int,
) -> list[dict[str, Any]]:
    """Candles of ``interval`` (oldest first): time, open, high, low, close, volume."""
    starts = _bucket_range(interval, start_ms, end_ms, limit, now_ms, listed_ms)
    if not starts:
        return []
    listed_minute = -(-listed_ms // MINUTE_MS)
    first = max(starts[0], listed_minute)
    end = next_bucket(interval, starts[-1])
    stride = COARSE_STRIDE.get(interval, 1)
    first += (-(first - starts[0])) % stride  # keep the sampled minutes on the stride grid
    rows = market.minute_candles(spec, first, end - first, now_ms, stride)
    minutes = np.arange(first, first + len(rows) * stride, stride)
    bounds = np.searchsorted(minutes, [*starts, end])
    out = []
    for i, bucket in enumerate(starts):
        chunk = rows[bounds[i] : bounds[i + 1]]
        if len(chunk) == 0:
            continue
        out.append(
            {
                "time": bucket * MINUTE_MS,
                "open": float(chunk[0, 0]),
                "high": float(chunk[:, 1].max()),
                "low": float(chunk[:, 2].min()),
                "close": float(chunk[-1, 3]),
                "volume": float(chunk[:, 4].sum() * stride),
            }
        )
    return out
