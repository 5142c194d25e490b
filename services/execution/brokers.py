"""Brokers turn a decision into a filled (or refused) order.

``PaperBroker`` fills from the cached market price with slippage and fees (the default, and what runs
whenever no exchange keys are configured). A live broker places the same orders on the exchange
through the gateway; both record into the same ledger under the same client order ids.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from services.execution.ledger import CloseResult, Ledger, OpenResult
from services.execution.orders import close_order_id, open_order_id
from shared.contracts import Decision
from shared.trading_state import Order, Position


class PriceSource(Protocol):
    """Last prices by symbol; served from the shared price cache, one batched exchange call at most."""

    async def prices(self, symbols: Sequence[str]) -> dict[str, float]: ...


class Broker(Protocol):
    mode: str

    async def open(self, decision: Decision) -> OpenResult: ...

    async def close(self, position: Position, price: float, reason: str) -> CloseResult | None: ...


def fill_price(price: float, *, buying: bool, slippage_bps: float) -> float:
    """Slippage always works against us: buys fill higher, sells lower."""
    slip = slippage_bps / 10_000
    return price * (1 + slip) if buying else price * (1 - slip)


class PaperBroker:
    mode = "paper"

    def __init__(self, ledger: Ledger, prices: PriceSource, *, fee_rate: float, slippage_bps: float) -> None:
        self._ledger = ledger
        self._prices = prices
        self._fee_rate = fee_rate
        self._slippage_bps = slippage_bps

    async def open(self, decision: Decision) -> OpenResult:
        client_order_id = open_order_id(decision.message_id)
        existing = await self._ledger.order(client_order_id)
        if existing is not None:
            return OpenResult(existing, created=False)
        assert decision.side is not None and decision.stop_loss is not None  # an "open" decision is complete
        market = (await self._prices.prices([decision.symbol])).get(decision.symbol)
        base = Order(
            client_order_id=client_order_id,
            decision_id=decision.message_id,
            symbol=decision.symbol,
            side=decision.side,
            kind="open",
            quantity=decision.quantity,
            status="filled",
            mode="paper",
        )
        if not market or market <= 0:
            return await self._ledger.record_rejection(
                base.model_copy(update={"status": "rejected", "reason": "no market price"})
            )
        price = fill_price(market, buying=decision.side == "long", slippage_bps=self._slippage_bps)
        order = base.model_copy(update={"price": price, "fee": price * decision.quantity * self._fee_rate})
        position = Position(
            symbol=decision.symbol,
            side=decision.side,
            quantity=decision.quantity,
            entry_price=price,
            stop_loss=decision.stop_loss,
            take_profit=decision.take_profit,
            last_price=market,
            opened_at=time.time(),
            decision_id=decision.message_id,
            client_order_id=client_order_id,
            signal_kind=decision.signal_kind,
            fees=order.fee,
        )
        return await self._ledger.open_position(order, position)

    async def close(self, position: Position, price: float, reason: str) -> CloseResult | None:
        fill = fill_price(price, buying=position.side == "short", slippage_bps=self._slippage_bps)
        order = Order(
            client_order_id=close_order_id(position.client_order_id),
            decision_id=position.decision_id,
            symbol=position.symbol,
            side=position.side,
            kind="close",
            quantity=position.quantity,
            status="filled",
            price=fill,
            fee=fill * position.quantity * self._fee_rate,
            mode="paper",
            reason=reason,
        )
        return await self._ledger.close_position(position.symbol, order)
