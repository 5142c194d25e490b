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

    # How positions are opened, paper and live alike: set on the exchange per symbol before its first order.
    trading_leverage: int = Field(3, ge=1, le=125)
    trading_margin_mode: Literal["isolated", "cross"] = "isolated"

    paper_fee_rate: float = Field(0.0005, ge=0, le=0.05)  # taker; BingX's standard rate
    paper_maker_fee_rate: float = Field(0.0002, ge=0, le=0.05)
    paper_slippage_bps: float = Field(2.0, ge=0, le=500)

    # Protection execution enforces itself, whatever ia2 decided.
    decision_max_age_s: float = Field(120.0, gt=0, le=86_400)  # an older decision is refused
    price_max_age_s: float = Field(2.0, gt=0, le=300)  # stops and orders use no older price than this
    halt_flatten: bool = False  # when the daily-loss or drawdown halt latches, also close every position
    price_watch_interval_s: float = Field(2.0, ge=0.05, le=600)
    equity_point_interval_s: float = Field(30.0, ge=1, le=86_400)

    # Live: the exchange is compared with the ledger this often; what it finds is fixed, counted and listed.
    reconcile_interval_s: float = Field(15.0, ge=0.5, le=3_600)
    adopt_stop_pct: float = Field(0.05, gt=0, lt=1)  # protection given to a position found on the exchange
    adopt_take_profit_pct: float = Field(0.10, gt=0, le=10)
