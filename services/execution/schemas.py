"""The bodies of execution's HTTP API (positions, orders and trades are shared/trading_state.py's models)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.trading_state import Mode


class Account(BaseModel):
    """The book's account now: futures-style, cash is the wallet balance and equity adds the open PnL."""

    mode: Mode = Field(description="paper, or live on the exchange")
    book: str = Field(description="the book traded: paper, or live:<exchange>:<account>")
    equity: float = Field(description="cash plus the unrealised PnL of open positions, in the quote currency")
    cash: float = Field(description="the wallet balance: moved only by realised PnL, fees and funding")
    realized_pnl: float = Field(description="price PnL of everything closed so far (fees and funding apart)")
    fees: float = Field(description="every trading fee paid so far")
    funding: float = Field(description="funding received (+) or paid (-) so far")
    peak_equity: float = Field(description="the highest equity seen, the base of the drawdown")
    drawdown: float = Field(description="how far equity is below its peak, as a share of the peak (0..1)")
    daily_loss: float = Field(description="how far equity is below today's start (UTC), as a share of it")
    exposure: float = Field(description="notional of the open positions at their last prices")
    open_positions: int = Field(description="how many positions are open")
    halt: str | None = Field(description="why new entries are halted by a risk limit, or null")
    kill_switch: str | None = Field(description="why the kill switch is on (no new orders at all), or null")


class Finding(BaseModel):
    """One thing reconciliation found different between the ledger and the exchange, and what it did."""

    kind: str = Field(description="what it was, e.g. closed_on_exchange, quantity_mismatch, unknown_order")
    symbol: str = Field(description="the market it concerns")
    detail: str = Field(description="what was found and what was done about it")
    at: float = Field(description="when, in seconds since the epoch")


class KillSwitchRequest(BaseModel):
    reason: str = Field("operator", min_length=1, max_length=200, description="why: kept with the switch and logged")
    flatten: bool = Field(True, description="also close every position and cancel its orders")


class KillSwitchOn(BaseModel):
    kill_switch: Literal["on"] = Field(description="the switch's state now")
    newly_set: bool = Field(description="false when it was already on (its first reason is kept)")
    positions_closed: int = Field(description="positions closed because of flatten")


class KillSwitchOff(BaseModel):
    kill_switch: Literal["off"] = Field(description="the switch's state now")
    was_set: bool = Field(description="false when it was already off")
