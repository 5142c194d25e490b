"""ia1's settings."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Ia1Settings(ServiceSettings):
    service_name: str = "ia1"
    port: int = Field(8012, ge=1, le=65535)
    ia1_primary_timeframe: str = "1h"
    ia1_timeframes: tuple[str, ...] = ("15m", "1h", "4h")
    ia1_candles: int = Field(200, ge=60, le=1440)
