"""Domain types the rest of the system sees instead of raw ccxt dicts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from typing import Any

PUBLIC_WEIGHT, PRIVATE_WEIGHT = 1.0, 2.0  # request weights as BingX counts them
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "3d", "1w", "1M")
MAX_OHLCV_LIMIT = 1440
_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10_080, "M": 28 * 1440}  # a month: its shortest, so never late
TIMEFRAME_MS = {tf: int(tf[:-1]) * _MINUTES[tf[-1]] * 60_000 for tf in TIMEFRAMES}

# [ts_ms, open, high, low, close, volume], oldest first. Tuples: a cached series is shared by every
# reader of the process (nobody may change it), and tuples of floats are not tracked by the garbage
# collector, so thousands of cached series cost nothing to its full passes.
Candles = tuple[tuple[float, ...], ...]


def candle_rows(rows: Iterable[Iterable[Any]]) -> Candles:
    """Rows from the exchange, every value checked to be a number."""
    return tuple(tuple(float(v) for v in row) for row in rows)


def frozen_rows(rows: Iterable[Sequence[float]]) -> Candles:
    """Rows the gateway stored (numbers already, by :func:`candle_rows`) as tuples: 10x faster than checking."""
    return tuple(map(tuple, rows))


def candle_close(rows: Sequence[Sequence[float]], step_ms: int, now: float) -> float:
    """When the series goes out of date: the close of its candle in progress (its last row), in seconds.

    When its last candle has already closed by our clock (a market without trades, or clocks apart), the
    next close on our clock's candle grid, at most an hour away (months are not a fixed grid).
    """
    now_ms = now * 1000
    if rows and rows[-1][0] + step_ms > now_ms:
        return (rows[-1][0] + step_ms) / 1000
    return min((now_ms // step_ms + 1) * step_ms / 1000, now + 3600)


def merge_candles(
    old: Sequence[Sequence[float]], new: Sequence[Sequence[float]], window: int
) -> list[Sequence[float]] | None:
    """``old`` brought up to date by ``new`` (fetched since old's last candle), the last ``window`` rows.

    ``new`` replaces every old row from its first candle on (old's last candle was still in progress).
    None when ``new`` starts after old's last candle: candles in between are missing.
    """
    if not new:
        return list(old[-window:])
    first = new[0][0]
    if old and first > old[-1][0]:
        return None
    kept = [row for row in old if row[0] < first]
    return [*kept, *new][-window:]


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Ticker:
    symbol: str
    last: float | None
    bid: float | None
    ask: float | None
    high: float | None
    low: float | None
    base_volume: float | None
    quote_volume: float | None
    change_pct: float | None
    timestamp: int | None

    @classmethod
    def from_ccxt(cls, raw: dict[str, Any]) -> Ticker:
        last = _num(raw.get("last")) or _num(raw.get("close"))
        ts = raw.get("timestamp")
        return cls(
            symbol=str(raw["symbol"]),
            last=last,
            bid=_num(raw.get("bid")),
            ask=_num(raw.get("ask")),
            high=_num(raw.get("high")),
            low=_num(raw.get("low")),
            base_volume=_num(raw.get("baseVolume")),
            quote_volume=_num(raw.get("quoteVolume")),
            change_pct=_num(raw.get("percentage")),
            timestamp=int(ts) if isinstance(ts, int | float) else None,
        )

    def to_row(self) -> list[Any]:
        """Compact form for the cache: values in field order."""
        return list(astuple(self))

    @classmethod
    def from_row(cls, row: list[Any]) -> Ticker:
        return cls(*row)


@dataclass(frozen=True)
class OrderBook:
    symbol: str
    bids: list[list[float]]
    asks: list[list[float]]
    timestamp: int | None


@dataclass(frozen=True)
class Quote:
    """A last price, when we read it (our clock: its age) and the exchange's time for it (market time)."""

    price: float
    read_at: float
    exchange_ms: int


@dataclass(frozen=True)
class MarketRules:
    """What the exchange accepts for a symbol, from its market listing."""

    amount_step: float  # quantities are multiples of this
    price_step: float = 0.0
    min_quantity: float = 0.0
    min_notional: float = 0.0
