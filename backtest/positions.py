"""Open positions between two decision times: they live through the data's candles as the paper venue
walks its own (``services/execution/paper.walk``): stop-loss, take-profit and liquidation inside the
candle, and funding at every funding time at the rate downloaded for it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backtest.book import Book, Holding
from backtest.features import SymbolFeatures
from backtest.state import MemoryOutcomes
from services.execution.paper import walk
from shared import perps


class Positions:
    def __init__(
        self, book: Book, features: Sequence[SymbolFeatures], outcomes: MemoryOutcomes, *, step_ms: int, fee_rate: float
    ) -> None:
        self.book = book
        self.features = list(features)
        self.index = {f.symbol: i for i, f in enumerate(self.features)}
        self.outcomes = outcomes
        self.step_ms = step_ms
        self.fee_rate = fee_rate
        self.cursor: dict[str, int] = {}  # symbol -> next base candle to live through

    def opened(self, symbol: str, at_candle: int) -> None:
        self.cursor[symbol] = at_candle

    def live_through(self, now: int) -> None:
        """Every open position lives through its candles that close by ``now``."""
        for symbol in list(self.book.positions):
            holding = self.book.positions[symbol]
            f = self.features[self.index[symbol]]
            start = self.cursor[symbol]
            end = int(np.searchsorted(f.base.ts + self.step_ms, now, side="right"))
            if end <= start:
                continue
            self.cursor[symbol] = end
            self._walk(holding, f, start, end)

    def _walk(self, h: Holding, f: SymbolFeatures, start: int, end: int) -> None:
        """The paper venue's walk (``services/execution/paper.walk``) over the candles that touch one of the
        position's levels; numpy finds the first such candle, so untouched candles cost nothing each."""
        base = f.base
        lows, highs = base.low[start:end], base.high[start:end]
        long = h.side == "long"
        events = (
            (lows <= h.stop_loss) | (highs >= h.take_profit)
            if long
            else (highs >= h.stop_loss) | (lows <= h.take_profit)
        )
        if h.liquidation is not None:
            events |= lows <= h.liquidation if long else highs >= h.liquidation
        hits = np.flatnonzero(events)
        first = start + int(hits[0]) if len(hits) else end - 1
        self._fund(h, f, int(base.ts[first]))
        if not len(hits):
            h.last_price = float(base.close[end - 1])
            return
        row = (
            float(base.ts[first]),
            *(float(c[first]) for c in (base.open, base.high, base.low, base.close, base.volume)),
        )
        fired = walk(self.book.position(h), (row,), int(row[0]), self.fee_rate)
        assert fired is not None
        exit_at = int(base.ts[first]) + self.step_ms
        trade = self.book.book_close(h.symbol, fired.fill.price, fired.fill.fee, exit_at, fired.reason)
        self.outcomes.record(trade)

    def _fund(self, h: Holding, f: SymbolFeatures, until_ms: int) -> None:
        """Funding at every funding time up to the open of the candle at ``until_ms``, at that time's price."""
        times, rates = f.funding
        for at in perps.funding_times(h.funded_until_ms, until_ms):
            i = int(np.searchsorted(times, at))
            rate = float(rates[i]) if i < len(times) and times[i] == at else 0.0
            j = int(np.searchsorted(f.base.ts, at, side="left"))
            mark = float(f.base.open[j]) if j < len(f.base) else h.last_price
            self.book.fund(h, at, mark, rate)

    def close_all(self, now: int, reason: str) -> None:
        for symbol in list(self.book.positions):
            holding = self.book.positions[symbol]
            f = self.features[self.index[symbol]]
            self._fund(holding, f, now)
            self.outcomes.record(self.book.close(symbol, holding.last_price, now, reason))
