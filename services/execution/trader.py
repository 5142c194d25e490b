"""execution's work on a decision: check, reserve, send, confirm; and closing positions.

Every check that can refuse an order runs before anything is sent (services/execution/checks.py); the
caps are checked again inside the reservation's transaction. Every outcome is published on
``stream:executions`` with a message id equal to the client order id, so a redelivered decision yields
the same event id and readers can drop the copy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import Counter

from services.execution.checks import Plan, Refusal, plan_entry
from services.execution.ledger import Ledger
from services.execution.orders import close_order_id, open_order_id
from services.execution.venue import Fill, Venue
from shared import metrics
from shared.bus import Delivery, Publisher
from shared.contracts import AccountEvent, Decision, Execution
from shared.errors import BadRequestError, PermanentExchangeError, TransientExchangeError
from shared.gateway import Candles, MarketRules, Quote
from shared.keys import STREAM_EVENTS, STREAM_EXECUTIONS
from shared.trading_state import MarginMode, Order, Position, record_outcome

log = logging.getLogger(__name__)
SEND_WAIT_S = 30.0  # how long a duplicate handler waits for the one sending the order
SEND_LEASE_RENEW_S = 1.0  # the sender renews its 5 s lease this often
ORDERS = Counter(metrics.name("orders_total"), "Orders by kind, outcome and mode", ["kind", "outcome", "mode"])
for _kind in ("open", "close"):
    for _outcome in ("filled", "rejected"):
        for _mode in ("paper", "live"):
            ORDERS.labels(_kind, _outcome, _mode)


class Market(Protocol):
    """Prices fresh enough to trade on, and what the exchange accepts (the gateway is one)."""

    async def fresh_prices(self, symbols: Sequence[str], max_age_s: float) -> dict[str, Quote]: ...

    async def ohlcv(self, symbol: str, timeframe: str, limit: int) -> Candles: ...

    async def funding_rate_history(self, symbol: str, since_ms: int, until_ms: int) -> list[tuple[int, float]]: ...

    async def market_rules(self, symbol: str) -> MarketRules: ...


def execution_event(order: Order, decision: Decision | None, *, realized_pnl: float = 0.0) -> Execution:
    return Execution(
        message_id=order.client_order_id,
        decision_id=order.decision_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        kind=order.kind,
        status="filled" if order.status == "filled" else "rejected",
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
    def __init__(
        self,
        ledger: Ledger,
        venue: Venue,
        market: Market,
        publisher: Publisher,
        *,
        price_max_age_s: float = 2.0,
        margin_mode: MarginMode = "cross",
    ) -> None:
        self.ledger = ledger
        self.venue = venue
        self.market = market
        self.publisher = publisher
        self.price_max_age_s = price_max_age_s
        self.margin_mode: MarginMode = margin_mode

    # -- opening -------------------------------------------------------------------------------

    async def on_decision(self, decision: Decision, delivery: Delivery) -> None:
        if decision.action != "open":
            return
        client_order_id = open_order_id(decision.message_id)
        order = await self.ledger.order(client_order_id)
        if order is None:
            order = await self._check_and_reserve(decision, client_order_id)
        if order.status == "pending":
            order = await self._send_once(decision, order)
        await self.publisher.publish(STREAM_EXECUTIONS, execution_event(order, decision))

    async def _send_once(self, decision: Decision, pending: Order) -> Order:
        """Send a reserved order unless another handler (a replica, a concurrent redelivery) is sending it:
        then wait for its outcome, or for its lease to lapse (that handler died) and send it ourselves."""
        deadline = time.monotonic() + SEND_WAIT_S
        while time.monotonic() < deadline:
            current = await self.ledger.order(pending.client_order_id)
            if current is not None and current.status != "pending":
                return current
            token = await self.ledger.claim_send(pending.client_order_id)
            if token is not None:
                return await self._send_leased(decision, pending, token)
            await asyncio.sleep(0.05)
        raise TransientExchangeError(f"order {pending.client_order_id} is still being placed elsewhere; retried later")

    async def _send_leased(self, decision: Decision, pending: Order, token: str) -> Order:
        cid = pending.client_order_id

        async def keep_lease() -> None:
            while True:
                await asyncio.sleep(SEND_LEASE_RENEW_S)
                if not await self.ledger.renew_send(cid, token):
                    return

        renewing = asyncio.create_task(keep_lease())
        try:
            current = await self.ledger.order(cid)  # the last holder may have finished meanwhile
            if current is not None and current.status != "pending":
                return current
            return await self._send(decision, pending)
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            await self.ledger.end_send(cid, token)

    def _order(self, decision: Decision, client_order_id: str, **values: object) -> Order:
        assert decision.side is not None
        return Order.model_validate(
            {
                "client_order_id": client_order_id,
                "decision_id": decision.message_id,
                "symbol": decision.symbol,
                "side": decision.side,
                "kind": "open",
                "quantity": decision.quantity,
                "mode": self.venue.mode,
                **values,
            }
        )

    async def _check_and_reserve(self, decision: Decision, client_order_id: str) -> Order:
        snapshot = await self.ledger.snapshot()
        prices = await self.market.fresh_prices([decision.symbol], self.price_max_age_s)
        quote = prices.get(decision.symbol)
        rules = await self.market.market_rules(decision.symbol)
        plan = plan_entry(decision, snapshot, quote.price if quote else None, rules, self.ledger.limits, time.time())
        if isinstance(plan, Plan) and (why := await self.venue.prepare(decision.symbol)) is not None:
            plan = Refusal(why)
        if isinstance(plan, Refusal):
            result = await self.ledger.record_rejection(
                self._order(decision, client_order_id, status="rejected", reason=plan.reason)
            )
            self._count(result.order, result.created)
            return result.order
        pending = self._order(
            decision, client_order_id, status="pending", quantity=plan.quantity, price=plan.price,
            notional=plan.notional, reason="; ".join(plan.notes),
        )  # fmt: skip
        result = await self.ledger.reserve(pending)
        if result.order.status == "rejected":
            self._count(result.order, result.created)
        return result.order

    async def _send(self, decision: Decision, pending: Order) -> Order:
        """Send a reserved entry (or find the one a crash or timeout hid), then confirm or release it."""
        fill = await self.venue.find(pending.symbol, pending.client_order_id)
        if fill is None:
            plan = Plan(
                pending.symbol, pending.side, pending.quantity, pending.price,
                decision.stop_loss or 0.0, decision.take_profit or 0.0, pending.notional,
            )  # fmt: skip
            try:
                fill = await self.venue.open(plan, pending.client_order_id)
            except (PermanentExchangeError, BadRequestError) as error:  # refused: nothing traded, freed
                order = await self.ledger.release(pending, f"refused by the exchange: {error}")
                self._count(order, True)
                return order
            # A transient error propagates: the decision is redelivered and the order looked up first.
        order = pending.filled(
            price=fill.price,
            fee=fill.fee,
            quantity=fill.quantity,
            exchange_order_id=fill.exchange_order_id,
            at=fill.at,
        )
        position = await self.venue.protect(self._position(decision, order, fill))
        confirmed = await self.ledger.confirm_open(order, position)
        self._count(confirmed, confirmed is order)
        return confirmed

    def _position(self, decision: Decision, order: Order, fill: Fill) -> Position:
        assert decision.side is not None and decision.stop_loss is not None
        leverage = self.ledger.limits.leverage
        return Position(
            symbol=order.symbol,
            side=decision.side,
            quantity=fill.quantity,
            entry_price=fill.price,
            stop_loss=decision.stop_loss,
            take_profit=decision.take_profit,
            last_price=fill.price,
            price_at=time.time(),
            opened_at=fill.at or time.time(),  # the venue's time: later exchange queries are made from it
            decision_id=decision.message_id,
            client_order_id=order.client_order_id,
            signal_kind=decision.signal_kind,
            fees=fill.fee,
            leverage=leverage,
            margin_mode=self.margin_mode,
            margin=fill.price * fill.quantity / leverage,
        )

    @staticmethod
    def _count(order: Order, created: bool) -> None:
        if created and order.status != "pending":
            ORDERS.labels(order.kind, order.status, order.mode).inc()

    # -- closing -------------------------------------------------------------------------------

    async def close(self, position: Position, price: float, reason: str) -> bool:
        """Close ``position`` reduce-only; False if it was closed already."""
        client_order_id = close_order_id(position.client_order_id)
        if await self.ledger.order(client_order_id) is not None:
            return False
        fill = await self.venue.close(position, client_order_id, price)
        return await self.record_close(position, fill, reason, client_order_id)

    async def sync_funding(self, position: Position) -> Position:
        """Bring the position's funding to what the venue booked (live); the position as the ledger has it."""
        booked = await self.venue.funding(position)
        if booked is None or abs(booked - position.funding) < 1e-9:
            return position
        await self.book_funding(position, booked - position.funding, int(time.time() * 1000))
        return position.model_copy(update={"funding": booked})

    async def book_funding(self, position: Position, amount: float, due_ms: int) -> None:
        """Funding received (or paid, negative) on ``position``: into the ledger once, and onto the events
        stream (the journal keeps it with the trade)."""
        if await self.ledger.apply_funding(position.symbol, amount, due_ms):
            event = AccountEvent(
                kind="funding", mode=self.venue.mode, symbol=position.symbol,
                decision_id=position.decision_id, amount=amount,
            )  # fmt: skip
            await self.publisher.publish(STREAM_EVENTS, event)

    async def record_close(
        self, position: Position, fill: Fill, reason: str, client_order_id: str | None = None
    ) -> bool:
        """Book a close that happened (here, or on the exchange by a stop, a target or a liquidation)."""
        position = await self.sync_funding(position)
        order = Order(
            client_order_id=client_order_id or close_order_id(position.client_order_id),
            decision_id=position.decision_id,
            symbol=position.symbol,
            side=position.side,
            kind="close",
            quantity=fill.quantity,
            status="filled",
            price=fill.price,
            fee=fill.fee,
            mode=self.venue.mode,
            exchange_order_id=fill.exchange_order_id,
            filled_at=fill.at,
            reason=reason,
        )
        result = await self.ledger.close_position(position.symbol, order)
        if result is None:
            return False
        ORDERS.labels("close", "filled", order.mode).inc()
        if position.signal_kind:
            net = result.trade.realized_pnl - position.fees - order.fee + position.funding
            await record_outcome(self.ledger.redis, position.signal_kind, net > 0)
        await self.publisher.publish(
            STREAM_EXECUTIONS, execution_event(order, None, realized_pnl=result.trade.realized_pnl)
        )
        return True

    async def flatten(self, reason: str) -> int:
        """Close every open position at the market (the kill switch, a halt set to flatten)."""
        snapshot = await self.ledger.snapshot()
        latest = await self.market.fresh_prices(list(snapshot.positions), self.price_max_age_s)
        closed = 0
        for symbol, position in snapshot.positions.items():
            price = latest[symbol].price if symbol in latest else position.last_price
            try:
                if await self.close(position, price, reason):
                    closed += 1
            except Exception:  # one symbol failing must not leave the others open
                log.exception("could not close a position while flattening", extra={"symbol": symbol})
        return closed
