"""One settings object for a backtest: the services' own settings classes, merged.

Every field keeps its live name and environment variable (``SCOUT_TOP_N``, ``IA1_TIMEFRAMES``,
``RISK_PER_TRADE``, ``PAPER_FEE_RATE``, ``TRADING_LEVERAGE`` ...), so the same ``.env`` drives live
trading and its backtest. Only what live learns from the market and history lacks is added.
"""

from __future__ import annotations

from pydantic import Field

from services.execution.checks import Limits
from services.execution.settings import ExecutionSettings
from services.ia1.analyst import AnalystConfig
from services.ia1.settings import Ia1Settings
from services.ia2.settings import Ia2Settings
from services.scout.settings import ScoutSettings
from shared.settings import ServiceSettings


class BacktestOnly(ServiceSettings):
    """What only a backtest needs: what live learns from the exchange, or from an operator."""

    # Candles carry no order book: scout's spread filter and factor read this spread for every symbol.
    backtest_spread_bps: float = Field(
        2.0, ge=0, le=10_000, description="the spread scout reads for every symbol (candles have no order book)"
    )
    # The exchange's minimums (live: from the market listing): no step rounding unless set.
    backtest_amount_step: float = Field(0.0, ge=0, description="quantity step orders are rounded down to (0: none)")
    backtest_min_notional: float = Field(2.0, ge=0, description="the exchange's minimum order notional, USDT")
    # Live, a latched halt (daily loss, drawdown) waits for an operator; a backtest has none, so it plays one
    # who resets the halt this many hours after it latched (0: never, trading stops for the rest of the run).
    backtest_halt_reset_hours: float = Field(
        24.0, ge=0, description="a latched halt is reset this long after (the operator live); 0: never"
    )


class BacktestSettings(BacktestOnly, ScoutSettings, Ia1Settings, Ia2Settings, ExecutionSettings):
    service_name: str = "backtest"

    def analyst_config(self, timeframes: tuple[str, ...]) -> AnalystConfig:
        return AnalystConfig(primary=self.ia1_primary_timeframe, timeframes=timeframes)

    def limits(self) -> Limits:
        """Execution's hard limits, built as the service builds them."""
        return Limits.from_settings(self)
