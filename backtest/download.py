"""Downloading history through the gateway: incremental, resumable, gaps and duplicates reported.

For each (symbol, timeframe) only the ranges the store lacks are asked for (before the first stored
candle, gaps inside, after the last), paging forward with ``since`` (``gateway.ohlcv_since``: the shared
rate-limit budget, the breaker, retries). What was fetched is merged into the file every few pages with an
atomic rename, so Ctrl-C loses at most those pages and never corrupts a file; the next run asks only for
what is still missing. Only candles closed by the exchange's clock are kept. Funding rates are stored
beside the candles, the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from backtest.history import (
    Store,
    gaps,
    missing_ranges,
    read_candles,
    read_funding,
    timeframe_ms,
    write_candles,
    write_funding,
)
from shared.gateway import MarketDataGateway

PAGE = 1000  # candles per request (BingX answers up to 1440)
FLUSH_EVERY = 5  # pages between two writes of a file
FUNDING_PAGE = 100


@dataclass
class SeriesReport:
    symbol: str
    timeframe: str
    fetched: int = 0  # new candles stored by this run
    pages: int = 0
    duplicates: int = 0  # candle times the exchange sent more than once
    stored: int = 0  # candles in the file after the run, inside the range
    gaps: list[tuple[int, int]] = field(default_factory=list)  # missing [start, end) inside the stored range
    missing_start: tuple[int, int] | None = None  # the exchange had nothing before this (a listing)
    funding: int = 0  # funding rates stored by this run


@dataclass(frozen=True)
class Progress:
    symbol: str
    timeframe: str
    done_ms: int  # how far into the range this series is
    start_ms: int
    end_ms: int
    series_index: int
    series_total: int

    @property
    def fraction(self) -> float:
        span = max(1, self.end_ms - self.start_ms)
        return min(1.0, max(0.0, (self.done_ms - self.start_ms) / span))


ProgressFn = Callable[[Progress], None]


async def top_symbols(gateway: MarketDataGateway, count: int) -> list[str]:
    """The ``count`` swap symbols with the largest 24 h quote volume now."""
    tickers = await gateway.tickers()
    ranked = sorted(tickers.values(), key=lambda t: (-(t.quote_volume or 0.0), t.symbol))
    return [t.symbol for t in ranked[:count]]


class Downloader:
    def __init__(
        self, gateway: MarketDataGateway, store: Store, *, page: int = PAGE, progress: ProgressFn | None = None
    ):
        self.gateway = gateway
        self.store = store
        self.page = page
        self.progress = progress or (lambda _: None)

    async def run(
        self, symbols: Sequence[str], timeframes: Sequence[str], start_ms: int, end_ms: int, *, funding: bool = True
    ) -> list[SeriesReport]:
        now_ms = await self.gateway.server_time_ms()
        end_ms = min(end_ms, now_ms)
        reports = []
        total = len(symbols) * len(timeframes)
        for i, (symbol, timeframe) in enumerate((s, tf) for s in symbols for tf in timeframes):
            report = await self.series(symbol, timeframe, start_ms, end_ms, now_ms, index=i, total=total)
            if funding and timeframe == timeframes[0]:
                report.funding = await self.funding(symbol, start_ms, end_ms)
            reports.append(report)
        return reports

    async def series(
        self, symbol: str, timeframe: str, start_ms: int, end_ms: int, now_ms: int, *, index: int = 0, total: int = 1
    ) -> SeriesReport:
        step = timeframe_ms(timeframe)
        start_ms = -(-start_ms // step) * step  # the first candle opening at or after the start
        closed_end = min(end_ms, (now_ms // step) * step)  # candles opening before this are closed by now
        path = self.store.candles_path(timeframe, symbol)
        report = SeriesReport(symbol, timeframe)
        seen: set[int] = set()
        for lo, hi in missing_ranges(read_candles(path).ts, start_ms, closed_end, step):
            pending: list[np.ndarray] = []
            since = lo
            while since < hi:
                rows = np.asarray(await self.gateway.ohlcv_since(symbol, timeframe, since, hi - 1, self.page))
                report.pages += 1
                if not len(rows):
                    break
                rows = rows[(rows[:, 0] >= since) & (rows[:, 0] < hi)]
                fresh = []
                for row in rows:  # a time sent twice (in one page or across pages) is kept once, counted
                    if int(row[0]) not in seen:
                        seen.add(int(row[0]))
                        fresh.append(row)
                report.duplicates += len(rows) - len(fresh)
                if fresh:
                    pending.append(np.asarray(fresh))
                    report.fetched += len(fresh)
                advanced = int(rows[-1, 0]) + step if len(rows) else since
                self.progress(Progress(symbol, timeframe, advanced, start_ms, closed_end, index, total))
                if advanced <= since:
                    break
                since = advanced
                if len(pending) >= FLUSH_EVERY:
                    report.duplicates += write_candles(path, np.concatenate(pending))
                    pending = []
            if pending:
                report.duplicates += write_candles(path, np.concatenate(pending))
        self.progress(Progress(symbol, timeframe, closed_end, start_ms, closed_end, index, total))
        stored = read_candles(path).between(start_ms, closed_end).ts
        report.stored = len(stored)
        report.gaps = gaps(stored, step)
        if len(stored) and int(stored[0]) > start_ms:
            report.missing_start = (start_ms, int(stored[0]))
        return report

    async def funding(self, symbol: str, start_ms: int, end_ms: int) -> int:
        path = self.store.funding_path(symbol)
        times, _ = read_funding(path)
        since = int(times[-1]) + 1 if len(times) and times[-1] >= start_ms else start_ms
        fetched = 0
        while since <= end_ms:
            rows = await self.gateway.funding_rate_history(symbol, since, end_ms)
            if not rows:
                break
            write_funding(path, np.asarray(rows, dtype=np.float64))
            fetched += len(rows)
            since = rows[-1][0] + 1
            if len(rows) < FUNDING_PAGE:
                break
        return fetched
