"""Reconciliation (live): the exchange's positions, open orders and balance against the ledger.

At start and every ``RECONCILE_INTERVAL_S``:
- a position the exchange closed (its stop, its take-profit, a liquidation) becomes a trade with the
  exchange's fill price, fees and funding;
- a position the ledger does not know is adopted, flagged and protected;
- a position whose size differs is resized to the exchange's;
- a position without its stop-loss or take-profit on the exchange gets them placed again;
- a protective order left for a position that is gone is cancelled; an order we did not place is flagged;
- an order left pending by a crash is looked up by its client id and confirmed or released;
- the wallet balance and mark prices come from the exchange.
Every finding is counted (``tradepipe_reconciliation_discrepancies_total{kind}``), kept in a list that
``GET /reconciliation`` shows, and logged; an alert rule fires on any.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge

from services.execution.live import LiveVenue
from services.execution.trader import Trader
from services.execution.venue import Fill
from shared import metrics
from shared.contracts import AccountEvent, Discrepancy
from shared.errors import PermanentExchangeError
from shared.gateway import ExchangeAccount
from shared.keys import STREAM_EVENTS
from shared.periodic import Periodic
from shared.trading_state import Order, Position, Snapshot

log = logging.getLogger(__name__)

KINDS = (
    "closed_on_exchange",
    "unknown_position_adopted",
    "quantity_mismatch",
    "protection_restored",
    "orphan_order_cancelled",
    "unknown_order",
    "pending_order_resolved",
)
DISCREPANCIES = Counter(
    metrics.name("reconciliation_discrepancies_total"), "What reconciliation found and fixed, by kind", ["kind"]
)
for _kind in KINDS:
    DISCREPANCIES.labels(_kind)
LAST_RECONCILED = Gauge(
    metrics.name("reconciliation_last_success_timestamp_seconds"), "When reconciliation last ran through"
)
# An order pending this long was not finished by its decision's redelivery either (it was dead-lettered,
# or execution was down for long): reconciliation resolves it from the exchange.
PENDING_GRACE_S = 600.0


@dataclass(frozen=True)
class ExchangePosition:
    symbol: str
    side: str  # long | short
    quantity: float
    entry_price: float
    mark_price: float
    liquidation_price: float | None
    leverage: float
    margin_mode: str


def exchange_positions(raw: list[dict[str, Any]]) -> dict[tuple[str, str], ExchangePosition]:
    """Open positions by (symbol, side): in hedge mode a symbol may be held both ways."""
    found: dict[tuple[str, str], ExchangePosition] = {}
    for row in raw:
        quantity = abs(float(row.get("contracts") or 0.0))
        if quantity <= 0 or not row.get("side"):
            continue
        found[(row["symbol"], str(row["side"]))] = ExchangePosition(
            symbol=row["symbol"],
            side=str(row["side"]),
            quantity=quantity,
            entry_price=float(row.get("entryPrice") or 0.0),
            mark_price=float(row.get("markPrice") or row.get("entryPrice") or 0.0),
            liquidation_price=float(row["liquidationPrice"]) if row.get("liquidationPrice") else None,
            leverage=float(row.get("leverage") or 1.0),
            margin_mode=str(row.get("marginMode") or "cross"),
        )
    return found


def _ours(client_order_id: str | None) -> bool:
    return bool(client_order_id) and str(client_order_id).startswith(("tpo", "tpc", "tps", "tpt"))


class Reconciler(Periodic):
    name = "reconciler"

    def __init__(
        self,
        trader: Trader,
        venue: LiveVenue,
        account: ExchangeAccount,
        *,
        interval_s: float,
        adopt: tuple[float, float],
    ) -> None:
        super().__init__(interval_s)
        self._trader = trader
        self._venue = venue
        self._account = account
        self._adopt_stop_pct, self._adopt_target_pct = adopt
        self._flagged: set[str] = set()  # foreign orders already reported (reported once, not every round)
        self.runs = 0

    async def step(self) -> None:
        await self.reconcile()

    async def _found(self, kind: str, symbol: str, detail: str) -> None:
        DISCREPANCIES.labels(kind).inc()
        log.warning("reconciliation: %s", kind, extra={"symbol": symbol, "detail": detail})
        await self._trader.ledger.record_discrepancy(kind, symbol, detail)
        event = AccountEvent(
            kind="reconciliation",
            severity="info" if kind == "pending_order_resolved" else "warning",
            mode="live",
            symbol=symbol if "/" in symbol else None,
            reason=f"{kind}: {detail}"[:500],
            discrepancy=Discrepancy(subject=kind, resolution=detail[:500]),
        )
        await self._trader.publisher.publish(STREAM_EVENTS, event)

    async def reconcile(self) -> None:
        ledger = self._trader.ledger
        await self._resolve_pending(await ledger.snapshot())
        on_exchange = exchange_positions(await self._account.positions())
        snapshot = await ledger.snapshot()
        for symbol, position in snapshot.positions.items():
            held = on_exchange.get((symbol, position.side))
            if held is None:
                await self._closed_on_exchange(position)
            else:
                funded = await self._trader.sync_funding(position)
                if held.liquidation_price != funded.liquidation_price:  # the exchange's, as margin moves
                    funded = funded.model_copy(update={"liquidation_price": held.liquidation_price})
                    await ledger.put_position(funded)
                if abs(held.quantity - funded.quantity) > 1e-12:
                    await ledger.put_position(funded.model_copy(update={"quantity": held.quantity}))
                    detail = f"ledger {funded.quantity:g}, exchange {held.quantity:g}"
                    await self._found("quantity_mismatch", symbol, detail)
        for (symbol, side), held in on_exchange.items():
            known = snapshot.positions.get(symbol)
            if known is None:
                await self._adopt(held)
            elif known.side != side:  # hedge mode, the other side: protected, reported, not in the book
                await self._venue.protect(self._adoptable(held))
                await self._found("unknown_position_adopted", symbol, f"{side} {held.quantity:g} protected, not booked")
        await self._check_orders(await ledger.snapshot(), {symbol for symbol, _ in on_exchange})
        wallet = await self._account.wallet()
        marks = {s: (p.mark_price, time.time()) for (s, _), p in on_exchange.items() if p.mark_price > 0}
        await ledger.mark_to_market(marks, cash=wallet.balance)
        LAST_RECONCILED.set(time.time())
        self.runs += 1

    async def _resolve_pending(self, snapshot: Snapshot) -> None:
        for order in snapshot.reservations.values():
            if time.time() - order.created_at < PENDING_GRACE_S:
                continue  # still being placed by its own handler
            try:
                fill = await self._venue.find(order.symbol, order.client_order_id)
            except PermanentExchangeError as error:
                fill = None
                await self._trader.ledger.release(order, str(error))
            if fill is None:
                await self._trader.ledger.release(order, "never reached the exchange (resolved by reconciliation)")
            else:
                await self._confirm_found(order, fill)
            await self._found(
                "pending_order_resolved", order.symbol, f"{order.client_order_id}: {'filled' if fill else 'released'}"
            )

    async def _confirm_found(self, order: Order, fill: Fill) -> None:
        """A pending entry that did fill: its position is adopted from the exchange on this same round."""
        await self._trader.ledger.release(order, "filled on the exchange; its position is adopted by reconciliation")

    async def _closed_on_exchange(self, position: Position) -> None:
        since_ms = int(position.opened_at * 1000)
        closing = "sell" if position.side == "long" else "buy"
        fills = [t for t in await self._account.my_trades(position.symbol, since_ms) if t.get("side") == closing]
        quantity = sum(float(t["amount"]) for t in fills) or position.quantity
        price = sum(float(t["price"]) * float(t["amount"]) for t in fills) / quantity if fills else position.last_price
        fees = sum(abs(float((t.get("fee") or {}).get("cost") or 0.0)) for t in fills)
        liquidated = bool(await self._account.liquidations(position.symbol, since_ms))
        reason = "liquidation" if liquidated else self._why_closed(position, price)
        fill = Fill(price=price, quantity=min(quantity, position.quantity), fee=fees, exchange_order_id=None)
        await self._trader.record_close(position, fill, reason)
        await self._found("closed_on_exchange", position.symbol, f"{reason} at {price:.6g}")

    @staticmethod
    def _why_closed(position: Position, price: float) -> str:
        direction = position.direction
        if position.stop_loss is not None and (price - position.stop_loss) * direction <= 0:
            return "stop-loss"
        if position.take_profit is not None and (price - position.take_profit) * direction >= 0:
            return "take-profit"
        return "closed on the exchange"

    def _adoptable(self, held: ExchangePosition) -> Position:
        """A position found on the exchange, with the protection settings give such positions."""
        direction = 1 if held.side == "long" else -1
        tag = hashlib.sha256(f"{held.symbol}:{held.side}:{held.entry_price}".encode()).hexdigest()[:30]
        return Position(
            symbol=held.symbol,
            side="long" if held.side == "long" else "short",
            quantity=held.quantity,
            entry_price=held.entry_price,
            stop_loss=held.entry_price * (1 - direction * self._adopt_stop_pct),
            take_profit=held.entry_price * (1 + direction * self._adopt_target_pct),
            last_price=held.mark_price or held.entry_price,
            price_at=time.time(),
            opened_at=time.time(),
            decision_id=f"adopted-{tag}",
            client_order_id=f"tpa{tag}",
            leverage=held.leverage,
            margin_mode="isolated" if held.margin_mode == "isolated" else "cross",
            liquidation_price=held.liquidation_price,
            origin="adopted",
        )

    async def _adopt(self, held: ExchangePosition) -> None:
        await self._trader.ledger.put_position(await self._venue.protect(self._adoptable(held)))
        await self._found(
            "unknown_position_adopted",
            held.symbol,
            f"{held.side} {held.quantity:g} at {held.entry_price:.6g}, protected",
        )

    async def _check_orders(self, snapshot: Snapshot, held_symbols: set[str]) -> None:
        for position in snapshot.positions.values():
            stop, target = await self._venue.protective_orders(position)
            if stop is None or target is None:
                await self._trader.ledger.put_position(await self._venue.protect(position))
                await self._found(
                    "protection_restored", position.symbol, f"stop {stop is not None}, target {target is not None}"
                )
        for order in await self._account.open_orders():
            symbol = str(order.get("symbol"))
            reduce_only = bool(order.get("reduceOnly")) or str((order.get("info") or {}).get("type", "")).startswith(
                ("STOP", "TAKE_PROFIT")
            )
            if reduce_only and symbol not in held_symbols:
                try:
                    await self._account.cancel_order(symbol, str(order["id"]))
                except PermanentExchangeError:
                    continue
                await self._found(
                    "orphan_order_cancelled", symbol, f"order {order.get('id')} for a position that is gone"
                )
            elif (
                not reduce_only and not _ours(order.get("clientOrderId")) and str(order.get("id")) not in self._flagged
            ):
                self._flagged.add(str(order.get("id")))
                await self._found("unknown_order", symbol, f"order {order.get('id')} not placed by tradepipe")
