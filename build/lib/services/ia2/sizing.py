"""Volatility-based sizing: risk a fixed share of equity between the entry and an ATR-based stop."""

from __future__ import annotations

from dataclasses import dataclass

from services.ia2.risk import RiskConfig
from shared.contracts import Side


@dataclass(frozen=True)
class Sized:
    quantity: float
    stop_loss: float
    take_profit: float
    risk_amount: float


def size_position(side: Side, *, equity: float, entry: float, atr: float, config: RiskConfig) -> Sized | None:
    """None when there is nothing to size from (no volatility figure, no equity, or a stop below zero)."""
    distance = atr * config.atr_stop_multiple
    if distance <= 0 or equity <= 0 or entry <= 0:
        return None
    direction = 1 if side == "long" else -1
    stop = entry - direction * distance
    target = entry + direction * distance * config.reward_risk
    if stop <= 0 or target <= 0:
        return None
    risk_amount = equity * config.risk_per_trade
    return Sized(quantity=risk_amount / distance, stop_loss=stop, take_profit=target, risk_amount=risk_amount)
