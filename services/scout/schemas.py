"""The body of scout's HTTP API: the report of a scan, as the scanner stores it after each one."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Published(BaseModel):
    symbol: str = Field(description="the market, e.g. BTC/USDT:USDT")
    rank: int = Field(description="1 is the best of this scan")
    score: float = Field(description="the ranking score: higher is more worth analysing")


class ScanTimings(BaseModel):
    tickers: float = Field(description="seconds spent reading every ticker")
    candles: float = Field(description="seconds spent reading the candidates' candles")
    total: float = Field(description="seconds the whole scan took, publishing included")


class ScanReport(BaseModel):
    """What the last scan saw, dropped and published."""

    scan_id: str = Field(description="the scan's id, carried by each opportunity it published")
    at: float = Field(description="when it finished, in seconds since the epoch")
    markets: int = Field(description="markets the exchange listed")
    passed_filters: int = Field(description="markets every filter kept")
    dropped_by: dict[str, int] = Field(
        description="markets dropped, by filter: sane_quote, quote_currency, min_volume, max_spread"
    )
    candidates: int = Field(description="the best-scored markets whose candles were read")
    published: list[Published] = Field(description="the opportunities published to ia1, best first")
    timings_s: ScanTimings = Field(description="how long each part took")
