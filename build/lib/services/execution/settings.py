"""execution's settings: paper by default; live needs keys AND the explicit switch."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.settings import RiskSettings


class ExecutionSettings(RiskSettings):
    service_name: str = "execution"
    port: int = Field(8014, ge=1, le=65535)

    trading_mode: Literal["paper", "live"] = "paper"
    live_trading_enabled: bool = False  # the explicit switch; without it "live" refuses to start

    paper_fee_rate: float = Field(0.0005, ge=0, le=0.05)
    paper_slippage_bps: float = Field(2.0, ge=0, le=500)
    price_watch_interval_s: float = Field(2.0, ge=0.05, le=600)
    equity_point_interval_s: float = Field(30.0, ge=1, le=86_400)
