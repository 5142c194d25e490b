"""ia2's settings: the risk limits (RISK_*), all validated at start."""

from __future__ import annotations

from pydantic import Field

from services.ia2.risk import RiskConfig
from shared.settings import ServiceSettings


class Ia2Settings(ServiceSettings):
    service_name: str = "ia2"
    port: int = Field(8013, ge=1, le=65535)
    paper_start_balance: float = Field(10_000.0, gt=0, allow_inf_nan=False)

    risk_per_trade: float = Field(0.01, gt=0, le=0.1)
    risk_atr_stop_multiple: float = Field(2.0, gt=0, le=20)
    risk_reward_ratio: float = Field(2.0, gt=0, le=20)
    risk_min_confidence: float = Field(0.55, ge=0, le=1)
    risk_max_open_positions: int = Field(5, ge=1, le=1_000)
    risk_max_symbol_exposure: float = Field(0.25, gt=0, le=10)
    risk_max_total_exposure: float = Field(1.0, gt=0, le=50)
    risk_max_correlation: float = Field(0.8, gt=0, le=1)
    risk_max_daily_loss: float = Field(0.05, gt=0, le=1)
    risk_max_drawdown: float = Field(0.15, gt=0, le=1)
    risk_min_notional: float = Field(5.0, ge=0)

    def risk_config(self) -> RiskConfig:
        return RiskConfig(
            risk_per_trade=self.risk_per_trade,
            atr_stop_multiple=self.risk_atr_stop_multiple,
            reward_risk=self.risk_reward_ratio,
            min_confidence=self.risk_min_confidence,
            max_open_positions=self.risk_max_open_positions,
            max_symbol_exposure=self.risk_max_symbol_exposure,
            max_total_exposure=self.risk_max_total_exposure,
            max_correlation=self.risk_max_correlation,
            max_daily_loss=self.risk_max_daily_loss,
            max_drawdown=self.risk_max_drawdown,
            min_notional=self.risk_min_notional,
        )
