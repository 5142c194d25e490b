"""One settings object for a backtest: the services' own settings classes, merged.

Every field keeps its live name and environment variable (``SCOUT_TOP_N``, ``IA1_TIMEFRAMES``,
``RISK_PER_TRADE``, ``PAPER_FEE_RATE``, ``TRADING_LEVERAGE`` ...), so the same ``.env`` drives live
trading and its backtest. Only what live learns from the market and history lacks is added.
"""

from __future__ import annotations

from pydantic import Field

from services.execution.app import limits_from
from services.execution.checks import Limits
from services.execution.settings import ExecutionSettings
from services.ia1.analyst import AnalystConfig
from services.ia1.settings import Ia1Settings
from services.ia2.settings import Ia2Settings
from services.scout.settings import ScoutSettings


class BacktestSettings(ScoutSettings, Ia1Settings, Ia2Settings, ExecutionSettings):
    service_name: str = "backtest"
    # Candles carry no order book: scout's spread filter and factor read this spread for every symbol.
    backtest_spread_bps: float = Field(2.0, ge=0, le=10_000)
    # The exchange's minimums (live: from the market listing): no step rounding unless set.
    backtest_amount_step: float = Field(0.0, ge=0)
    backtest_min_notional: float = Field(2.0, ge=0)

    def analyst_config(self, timeframes: tuple[str, ...]) -> AnalystConfig:
        return AnalystConfig(primary=self.ia1_primary_timeframe, timeframes=timeframes)

    def limits(self) -> Limits:
        """Execution's hard limits, built as the service builds them."""
        return limits_from(self)
