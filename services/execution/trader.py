"""execution's work: act on decisions, and watch open positions against their stop and target.

Decisions come from ``stream:decisions``; every outcome is published on ``stream:executions`` with a
message id equal to the client order id, so a redelivered decision yields the same event id and
readers can drop the copy.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Gauge

from services.execution.brokers import Broker, PriceSource
from services.execution.ledger import Ledger
from services.execution.orders import open_order_id
from shared import metrics
from shared.bus import Delivery, Publisher
from shared.contracts import Decision, Execution
from shared.keys import STREAM_EXECUTIONS
from shared.periodic import Periodic
from shared.trading_state import Order, Position, Snapshot, record_outcome

log = logging.getLogger(__name__)

ORDERS = Counter(metrics.name("orders_total"), "Orders by kind, outcome and mode", ["kind", "outcome", "mode"])
EQUITY = Gauge(metrics.name("equity_usd"), "Account equity (cash + unrealised PnL)")
DRAWDOWN = Gauge(metrics.name("drawdown_ratio"), "Drawdown from the equity peak, 0-1")
OPEN_POSITIONS = Gauge(metrics.name("open_positions"), "Open positions")
EXPOSURE = Gauge(metrics.name("exposure_usd"), "Notional of open positions")
for _kind in ("open", "close"):
    for _outcome in ("filled", "rejected"):
        for _mode in ("paper", "live"):
            ORDERS.labels(_kind, _outcome, _mode)
HALTED = Gauge(metrics.name("trading_halted"), "1 while new entries are stopped (risk halt or kill switch)")


def _event(order: Order, decision: Decision | None, *, realized_pnl: float = 0.0) -> Execution:
    return Execution(
        message_id=order.client_order_id,
        decision_id=order.decision_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        kind=order.kind,
        status=order.status,
        mode=order.mode,
        side=order.side,
        quantity=order.quantity,
        price=order.price,
        fee=order.fee,
        realized_pnl=realized_pnl,
        reason=order.reason,
        opportunity_created_at=decision.opportunity_created_at if decision else 0.0,
    )


class Trader:
    def __init__(self, ledger: Ledger, broker: Broker, publisher: Publisher) -> None:
        self.ledger = ledger
        self.broker = broker
        self.publisher = publisher

    async def on_decision(self, decision: Decision, delivery: Delivery) -> None:
        if decision.action != "open":
            return
        snapshot = await self.ledger.snapshot()
        if snapshot.kill_reason is not None:
            result = await self.ledger.record_rejection(self._refused(decision, f"kill switch: {snapshot.kill_reason}"))
        else:
            result = await self.broker.open(decision)
        if result.created:
            ORDERS.labels("open", result.order.status, result.order.mode).inc()
        else:
            log.info("decision already executed", extra={"decision_id": decision.message_id})
        await self.publisher.publish(STREAM_EXECUTIONS, _event(result.order, decision))

    def _refused(self, decision: Decision, reason: str) -> Order:
        assert decision.side is not None
        return Order(
            client_order_id=open_order_id(decision.message_id),
            decision_id=decision.message_id,
            symbol=decision.symbol,
            side=decision.side,
            kind="open",
            quantity=decision.quantity,
            status="rejected",
            mode="paper" if self.broker.mode == "paper" else "live",
            reason=reason,
        )

    async def close(self, position: Position, price: float, reason: str) -> bool:
        result = await self.broker.close(position, price, reason)
        if result is None:
            return False
        ORDERS.labels("close", result.order.status, result.order.mode).inc()
        if position.signal_kind:
            await record_outcome(self.ledger.redis, position.signal_kind, result.trade.realized_pnl > 0)
        await self.publisher.publish(
            STREAM_EXECUTIONS, _event(result.order, None, realized_pnl=result.trade.realized_pnl)
        )
        return True

    async def flatten(self, prices: PriceSource, reason: str) -> int:
        snapshot = await self.ledger.snapshot()
        latest = await prices.prices(list(snapshot.positions))
        closed = 0
        for symbol, position in snapshot.positions.items():
            if await self.close(position, latest.get(symbol) or position.last_price, reason):
                closed += 1
        return closed


def exit_reason(position: Position, price: float) -> str | None:
    """'stop-loss' or 'take-profit' when the price crossed one, else None."""
    if position.side == "long":
        if position.stop_loss is not None and price <= position.stop_loss:
            return "stop-loss"
        if position.take_profit is not None and price >= position.take_profit:
            return "take-profit"
    else:
        if position.stop_loss is not None and price >= position.stop_loss:
            return "stop-loss"
        if position.take_profit is not None and price <= position.take_profit:
            return "take-profit"
    return None


def publish_gauges(snapshot: Snapshot) -> None:
    EQUITY.set(snapshot.equity)
    DRAWDOWN.set(snapshot.drawdown)
    OPEN_POSITIONS.set(len(snapshot.positions))
    EXPOSURE.set(snapshot.exposure)
    HALTED.set(1 if snapshot.halt_reason or snapshot.kill_reason else 0)


class PositionWatcher(Periodic):
    """On every price update: mark positions to market, close those past their stop or target."""

    name = "position-watcher"

    def __init__(self, trader: Trader, prices: PriceSource, *, interval_s: float, equity_every_s: float) -> None:
        super().__init__(interval_s)
        self._trader = trader
        self._prices = prices
        self._equity_every_s = equity_every_s
        self._last_equity_point = 0.0
        self.last_tick: float = 0.0

    async def tick(self) -> int:
        ledger = self._trader.ledger
        open_now = (await ledger.snapshot()).positions
        latest = await self._prices.prices(list(open_now)) if open_now else {}
        snapshot = await ledger.mark_to_market(latest)
        closed = 0
        for symbol, position in snapshot.positions.items():
            price = latest.get(symbol)
            reason = exit_reason(position, price) if price else None
            if reason and price and await self._trader.close(position, price, reason):
                closed += 1
        if closed:
            snapshot = await ledger.snapshot()
        publish_gauges(snapshot)
        now = time.time()
        if now - self._last_equity_point >= self._equity_every_s:
            await ledger.record_equity_point(snapshot.equity, now=now)
            self._last_equity_point = now
        self.last_tick = now
        return closed

    async def step(self) -> None:
        await self.tick()
