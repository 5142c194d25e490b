"""The paper venue: fills simulated here from the market price, with slippage against us and the taker
fee. Its stop-loss and take-profit rest "on the venue" as the position's own levels, checked by the
protection loop."""

from __future__ import annotations

from services.execution.checks import Plan
from services.execution.venue import Fill
from shared.trading_state import Mode, Position


def fill_price(price: float, *, buying: bool, slippage_bps: float) -> float:
    """Slippage always works against us: buys fill higher, sells lower."""
    slip = slippage_bps / 10_000
    return price * (1 + slip) if buying else price * (1 - slip)


class PaperVenue:
    mode: Mode = "paper"

    def __init__(self, *, taker_fee: float, slippage_bps: float) -> None:
        self.taker_fee = taker_fee
        self.slippage_bps = slippage_bps

    async def start(self) -> None:
        return None

    async def prepare(self, symbol: str) -> str | None:
        return None

    def _fill(self, price: float, quantity: float, *, buying: bool) -> Fill:
        filled = fill_price(price, buying=buying, slippage_bps=self.slippage_bps)
        return Fill(price=filled, quantity=quantity, fee=filled * quantity * self.taker_fee)

    async def open(self, plan: Plan, client_order_id: str) -> Fill:
        return self._fill(plan.price, plan.quantity, buying=plan.side == "long")

    async def find(self, symbol: str, client_order_id: str) -> Fill | None:
        return None  # a paper fill is recorded with its reservation's confirmation or not at all

    async def protect(self, position: Position) -> Position:
        return position

    async def close(self, position: Position, client_order_id: str, price: float) -> Fill:
        return self._fill(price, position.quantity, buying=position.side == "short")

    async def funding(self, position: Position) -> float | None:
        return None  # paper books funding itself, as it falls due
