"""Market filters for the scan: small classes with one job each, a name, and a reason when they drop.

Each filter decides on columns of many markets at once (:meth:`keeps`: live, one scan's tickers;
backtests, every symbol at every decision time); :meth:`reject` is the same test on one ticker, with the
reason. Adding a filter is adding a class here and naming it in ``default_filters``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class TickerLike(Protocol):
    """What the scan needs from a ticker (the gateway's Ticker has these)."""

    @property
    def symbol(self) -> str: ...
    @property
    def last(self) -> float | None: ...
    @property
    def bid(self) -> float | None: ...
    @property
    def ask(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def quote_volume(self) -> float | None: ...
    @property
    def change_pct(self) -> float | None: ...


@dataclass(frozen=True)
class Columns:
    """Tickers as columns (NaN where a ticker has no value); any shape, one element per market."""

    symbols: np.ndarray  # str
    last: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    high: np.ndarray
    low: np.ndarray
    quote_volume: np.ndarray
    change_pct: np.ndarray

    @classmethod
    def of(cls, tickers: Sequence[TickerLike]) -> Columns:
        def column(name: str) -> np.ndarray:
            values = (getattr(t, name) for t in tickers)
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        return cls(
            np.array([t.symbol for t in tickers], dtype=object),
            *(column(n) for n in ("last", "bid", "ask", "high", "low", "quote_volume", "change_pct")),
        )


class MarketFilter(Protocol):
    @property
    def name(self) -> str: ...

    def keeps(self, markets: Columns) -> np.ndarray:
        """True where the market is kept."""

    def reject(self, ticker: TickerLike) -> str | None:
        """None to keep the market, or the reason it is dropped."""


def spreads_bps(bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """The spread in basis points of the mid; NaN for a missing, zero or crossed book."""
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = (bid > 0) & (ask >= bid)
        return np.where(valid, (ask - bid) / ((ask + bid) / 2) * 10_000, np.nan)


def spread_bps(ticker: TickerLike) -> float | None:
    spread = float(spreads_bps(np.array([ticker.bid or np.nan]), np.array([ticker.ask or np.nan]))[0])
    return spread if math.isfinite(spread) else None


def _finite_positive(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(values) & (values > 0), dtype=bool)


def _one(ticker: TickerLike) -> Columns:
    return Columns.of([ticker])


@dataclass(frozen=True)
class SaneQuoteFilter:
    """Drops tickers with a missing, zero, NaN or crossed price: nothing to rank, nothing to trade."""

    name: str = "sane_quote"

    @staticmethod
    def _priced(markets: Columns) -> np.ndarray:
        priced: np.ndarray = (
            _finite_positive(markets.last) & _finite_positive(markets.high) & _finite_positive(markets.low)
        )
        return priced

    def keeps(self, markets: Columns) -> np.ndarray:
        return np.asarray(self._priced(markets) & np.isfinite(spreads_bps(markets.bid, markets.ask)), dtype=bool)

    def reject(self, ticker: TickerLike) -> str | None:
        one = _one(ticker)
        if not self._priced(one)[0]:
            return "no valid price"
        return None if self.keeps(one)[0] else "no valid bid/ask"


@dataclass(frozen=True)
class QuoteCurrencyFilter:
    quote: str = "USDT"
    name: str = "quote_currency"

    def keeps(self, markets: Columns) -> np.ndarray:
        ending = f"/{self.quote}"
        verdicts = {s: s.split(":")[0].endswith(ending) for s in set(markets.symbols.ravel().tolist())}
        return np.array([verdicts[s] for s in markets.symbols.ravel().tolist()], dtype=bool).reshape(
            markets.symbols.shape
        )

    def reject(self, ticker: TickerLike) -> str | None:
        return None if self.keeps(_one(ticker))[0] else f"not quoted in {self.quote}"


@dataclass(frozen=True)
class MinVolumeFilter:
    min_quote_volume: float
    name: str = "min_volume"

    def keeps(self, markets: Columns) -> np.ndarray:
        return np.asarray(np.nan_to_num(markets.quote_volume, nan=0.0) >= self.min_quote_volume, dtype=bool)

    def reject(self, ticker: TickerLike) -> str | None:
        volume = ticker.quote_volume or 0.0
        return None if self.keeps(_one(ticker))[0] else f"24h volume {volume:,.0f} below {self.min_quote_volume:,.0f}"


@dataclass(frozen=True)
class MaxSpreadFilter:
    max_spread_bps: float
    name: str = "max_spread"

    def keeps(self, markets: Columns) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.asarray(spreads_bps(markets.bid, markets.ask) <= self.max_spread_bps, dtype=bool)  # NaN: dropped

    def reject(self, ticker: TickerLike) -> str | None:
        if self.keeps(_one(ticker))[0]:
            return None
        return f"spread {spread_bps(ticker) or float('nan'):.1f} bps above {self.max_spread_bps:.1f}"


def default_filters(*, quote: str, min_quote_volume: float, max_spread_bps: float) -> list[MarketFilter]:
    return [
        SaneQuoteFilter(),
        QuoteCurrencyFilter(quote),
        MinVolumeFilter(min_quote_volume),
        MaxSpreadFilter(max_spread_bps),
    ]
