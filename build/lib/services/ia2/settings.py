"""ia2's settings: the risk limits (RISK_*), all validated at start."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.ia2.risk import RiskConfig
from shared.settings import RiskSettings


class Ia2Settings(RiskSettings):
    service_name: str = "ia2"
    port: int = Field(8013, ge=1, le=65535)
    ia2_provider: Literal["rules", "llm"] = "rules"  # llm: the model proposes, the risk manager still decides
    ia2_llm_model: str = Field("gpt-4o-mini", min_length=1, max_length=200)

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
