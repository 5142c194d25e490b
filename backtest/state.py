"""What the backtest hands the live code instead of Redis, and the rows its loop reads.

- :class:`BookState` and :class:`MemoryOutcomes` are ia2's two interfaces (``services/ia2/state.py``) over
  the backtest's book: the account snapshot and the latched halt, and the wins and losses per setup.
- :class:`Rows` holds one symbol's per-candle figures as Python lists, and :class:`Reading` the analysis'
  figures the rules read (``services/ia2/strategist.Signalled``) at one candle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from backtest.book import Book, ClosedTrade
from backtest.features import SymbolFeatures
from shared.contracts import Signal
from shared.trading_state import Snapshot


class Reading(NamedTuple):
    """The analysis' figures the rules read (services/ia2/strategist.Signalled), straight from the rows."""

    symbol: str
    signal: Signal
    confidence: float
    price: float
    atr: float
    setup: str
    rationale: str = ""


@dataclass(frozen=True)
class Rows:
    """One symbol's per-candle figures as Python lists: the loop reads single values, and a list is read
    many times faster than a numpy array element by element."""

    signal: list[int]
    confidence: list[float]
    close: list[float]
    atr: list[float]
    adx: list[float]
    reversion: list[float]
    any_pattern: list[bool]
    patterns: dict[str, list[bool]]

    @classmethod
    def of(cls, f: SymbolFeatures) -> Rows:
        size = len(f.primary)
        nan = [math.nan] * size
        found = np.zeros(size, dtype=bool)
        for hits in f.patterns.values():
            found |= hits
        return cls(
            f.combined.signal.tolist(),
            f.combined.confidence.tolist(),
            f.primary.close.tolist(),
            f.values["atr"].tolist() if "atr" in f.values else nan,
            f.values["adx"].tolist() if "adx" in f.values else nan,
            f.readings.reversion.tolist(),
            found.tolist(),
            {name: hits.tolist() for name, hits in f.patterns.items()},
        )


class BookState:
    """ia2's view of the account (services/ia2/state.TradingState), from the backtest's book."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.cached: Snapshot | None = None
        self.now = 0

    async def snapshot(self) -> Snapshot:
        if self.cached is None:
            self.cached = self.book.snapshot()
        return self.cached

    async def latch_halt(self, reason: str) -> None:
        self.book.latch(self.now, reason)
        self.cached = None


class MemoryOutcomes:
    """Wins and losses per setup (services/ia2/state.Outcomes), recorded as trades close."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}

    async def outcomes(self, signal_kind: str) -> tuple[int, int]:
        wins, losses = self.counts.get(signal_kind, [0, 0])
        return wins, losses

    def record(self, trade: ClosedTrade) -> None:
        if trade.signal_kind:
            self.counts.setdefault(trade.signal_kind, [0, 0])[0 if trade.net > 0 else 1] += 1
