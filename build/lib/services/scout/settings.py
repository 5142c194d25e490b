"""scout's settings: scan period, filters, how many candidates and opportunities, prefetch."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class ScoutSettings(ServiceSettings):
    service_name: str = "scout"
    port: int = Field(8011, ge=1, le=65535)

    scan_interval_s: float = Field(30.0, ge=1, le=3_600)
    scout_quote: str = Field("USDT", pattern=r"^[A-Z0-9]+$")
    scout_min_quote_volume: float = Field(100_000.0, ge=0)
    scout_max_spread_bps: float = Field(30.0, gt=0, le=10_000)
    scout_candidates: int = Field(20, ge=1, le=500)  # markets whose candles are read each scan
    scout_top_n: int = Field(5, ge=1, le=100)  # opportunities published each scan
    scout_timeframe: str = "15m"
    scout_candles: int = Field(50, ge=3, le=1440)
    scout_republish_after_s: float = Field(300.0, ge=0, le=86_400)  # a symbol is not re-published sooner
    scout_prefetch: bool = True
    scout_prefetch_timeframes: tuple[str, ...] = ("15m", "1h", "4h")
    scout_prefetch_candles: int = Field(200, ge=1, le=1440)
