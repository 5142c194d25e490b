"""ia1's settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.settings import ServiceSettings


class Ia1Settings(ServiceSettings):
    service_name: str = "ia1"
    port: int = Field(8012, ge=1, le=65535)
    ia1_primary_timeframe: str = "1h"
    ia1_timeframes: tuple[str, ...] = ("15m", "1h", "4h")
    ia1_candles: int = Field(200, ge=60, le=1440)
    ia1_provider: Literal["rules", "llm"] = "rules"  # llm: the model reads the rules' figures; rules on failure
    ia1_llm_model: str = Field("gpt-4o-mini", min_length=1, max_length=200)
