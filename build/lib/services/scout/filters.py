"""Market filters for the scan: small classes with one job each, a name, and a reason when they drop.

Adding a filter is adding a class here and naming it in ``default_filters``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


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


class MarketFilter(Protocol):
    @property
    def name(self) -> str: ...

    def reject(self, ticker: TickerLike) -> str | None:
        """None to keep the market, or the reason it is dropped."""


def spread_bps(ticker: TickerLike) -> float | None:
    if not ticker.bid or not ticker.ask or ticker.bid <= 0 or ticker.ask < ticker.bid:
        return None
    return (ticker.ask - ticker.bid) / ((ticker.ask + ticker.bid) / 2) * 10_000


def _finite_positive(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


@dataclass(frozen=True)
class SaneQuoteFilter:
    """Drops tickers with a missing, zero, NaN or crossed price: nothing to rank, nothing to trade."""

    name: str = "sane_quote"

    def reject(self, ticker: TickerLike) -> str | None:
        if not all(_finite_positive(v) for v in (ticker.last, ticker.high, ticker.low)):
            return "no valid price"
        if spread_bps(ticker) is None:
            return "no valid bid/ask"
        return None


@dataclass(frozen=True)
class QuoteCurrencyFilter:
    quote: str = "USDT"
    name: str = "quote_currency"

    def reject(self, ticker: TickerLike) -> str | None:
        base_quote = ticker.symbol.split(":")[0]
        return None if base_quote.endswith(f"/{self.quote}") else f"not quoted in {self.quote}"


@dataclass(frozen=True)
class MinVolumeFilter:
    min_quote_volume: float
    name: str = "min_volume"

    def reject(self, ticker: TickerLike) -> str | None:
        volume = ticker.quote_volume or 0.0
        return (
            None if volume >= self.min_quote_volume else f"24h volume {volume:,.0f} below {self.min_quote_volume:,.0f}"
        )


@dataclass(frozen=True)
class MaxSpreadFilter:
    max_spread_bps: float
    name: str = "max_spread"

    def reject(self, ticker: TickerLike) -> str | None:
        spread = spread_bps(ticker)
        if spread is None or spread > self.max_spread_bps:
            return f"spread {spread or float('nan'):.1f} bps above {self.max_spread_bps:.1f}"
        return None


def default_filters(*, quote: str, min_quote_volume: float, max_spread_bps: float) -> list[MarketFilter]:
    return [
        SaneQuoteFilter(),
        QuoteCurrencyFilter(quote),
        MinVolumeFilter(min_quote_volume),
        MaxSpreadFilter(max_spread_bps),
    ]
