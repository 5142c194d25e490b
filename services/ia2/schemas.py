"""The bodies of ia2's HTTP API: the risk manager's state and limits, and a halt reset."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RiskLimits(BaseModel):
    """The limits every proposal passes last, whoever proposed it (RISK_* settings)."""

    risk_per_trade: float = Field(description="share of equity lost if a trade's stop is hit")
    atr_stop_multiple: float = Field(description="the stop's distance from the entry, in ATRs")
    reward_risk: float = Field(description="the target's distance as a multiple of the stop's")
    min_confidence: float = Field(description="the confidence a setup needs before adaptation")
    max_open_positions: int = Field(description="positions open at once, at most")
    max_symbol_exposure: float = Field(description="notional per symbol, as a share of equity")
    max_total_exposure: float = Field(description="notional of all positions, as a share of equity")
    max_correlation: float = Field(description="a new position's highest allowed correlation with an open one")
    max_daily_loss: float = Field(description="today's loss, as a share of its start, that halts new entries")
    max_drawdown: float = Field(description="the drawdown from the peak that halts new entries")
    min_notional: float = Field(description="the smallest order worth sending, in the quote currency")


class RiskStatus(BaseModel):
    halt: str | None = Field(description="why new entries are halted, or null")
    kill_switch: str | None = Field(description="why the kill switch is on, or null")
    equity: float = Field(description="the active book's equity, in the quote currency")
    drawdown: float = Field(description="how far equity is below its peak, as a share of the peak")
    daily_loss: float = Field(description="how far equity is below today's start, as a share of it")
    open_positions: int = Field(description="how many positions are open")
    limits: RiskLimits = Field(description="the limits in force")


class HaltReset(BaseModel):
    halt: None = Field(description="the halt's state now: always null")
    book: str = Field(description="the book whose halt was cleared")
    was_set: bool = Field(description="false when there was no halt to clear")
