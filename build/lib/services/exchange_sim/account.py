"""Simulated accounts: a USDT margin balance, one-way positions, and orders, per API key.

Market orders fill at once against the synthetic book (buys at the ask, sells at the bid) with the
taker fee; a marketable limit order fills at the better of its price and the book; a resting limit
order stays NEW and fills when a later query finds the price has crossed it. Positions net (one-way
mode): an order against a position reduces it first and realises its PnL.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from services.exchange_sim.errors import (
    BAD_REQUEST,
    DUPLICATE_ORDER,
    INSUFFICIENT_MARGIN,
    INVALID_ORDER,
    ORDER_NOT_FOUND,
    SimError,
)
from services.exchange_sim.market import SymbolSpec, SyntheticMarket

_order_ids = itertools.count(1_900_000_000_000_000_000)


@dataclass
class SimOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT
    quantity: float
    price: float  # limit price (0 for market)
    status: str = "NEW"
    executed_qty: float = 0.0
    avg_price: float = 0.0
    commission: float = 0.0
    reduce_only: bool = False
    time: int = field(default_factory=lambda: int(time.time() * 1000))
    update_time: int = 0

    def as_bingx(self) -> dict[str, Any]:
        return {
            "orderId": str(self.order_id),
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": "BOTH",
            "type": self.type,
            "origQty": f"{self.quantity}",
            "price": f"{self.price}",
            "executedQty": f"{self.executed_qty}",
            "avgPrice": f"{self.avg_price}",
            "cumQuote": f"{self.executed_qty * self.avg_price}",
            "status": self.status,
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "clientOrderId": self.client_order_id,
            "clientOrderID": self.client_order_id,
            "commission": f"{-self.commission}",
            "reduceOnly": self.reduce_only,
        }


@dataclass
class SimPosition:
    symbol: str
    quantity: float = 0.0  # signed: > 0 long, < 0 short
    avg_price: float = 0.0
    realised: float = 0.0


@dataclass
class Account:
    balance: float
    positions: dict[str, SimPosition] = field(default_factory=dict)
    orders: dict[int, SimOrder] = field(default_factory=dict)
    by_client_id: dict[str, int] = field(default_factory=dict)


class Exchange:
    def __init__(
        self, market: SyntheticMarket, *, start_balance: float, taker_fee: float, maker_fee: float, leverage: float
    ) -> None:
        self.market = market
        self.start_balance = start_balance
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.leverage = leverage
        self._accounts: dict[str, Account] = {}
        self._lock = threading.RLock()

    def account(self, api_key: str) -> Account:
        with self._lock:
            return self._accounts.setdefault(api_key, Account(self.start_balance))

    def reset(self) -> None:
        with self._lock:
            self._accounts.clear()

    # -- orders -------------------------------------------------------------------------------

    def place(self, api_key: str, spec: SymbolSpec, params: dict[str, str], now_ms: int) -> SimOrder:
        side = params.get("side", "").upper()
        kind = params.get("type", "").upper()
        if side not in ("BUY", "SELL") or kind not in ("MARKET", "LIMIT"):
            raise SimError(BAD_REQUEST, "side must be BUY or SELL and type MARKET or LIMIT")
        quantity = _positive(params.get("quantity"), "quantity")
        price = _positive(params.get("price"), "price") if kind == "LIMIT" else 0.0
        client_id = params.get("clientOrderID") or params.get("clientOrderId") or ""
        if client_id and (len(client_id) > 40 or not client_id.replace("_", "").isalnum()):
            raise SimError(BAD_REQUEST, "clientOrderID must be 1-40 letters, digits or underscores")
        with self._lock:
            account = self.account(api_key)
            if client_id and client_id in account.by_client_id:
                raise SimError(DUPLICATE_ORDER, f"duplicate clientOrderID {client_id}")
            order = SimOrder(
                next(_order_ids), client_id, spec.exchange_id, side, kind, quantity, price,
                reduce_only=params.get("reduceOnly") == "true",
            )  # fmt: skip
            self._check_margin(account, spec, order, now_ms)
            account.orders[order.order_id] = order
            if client_id:
                account.by_client_id[client_id] = order.order_id
            self._try_fill(account, spec, order, now_ms)
            return order

    def find(self, api_key: str, order_id: str | None, client_id: str | None, now_ms: int) -> SimOrder:
        with self._lock:
            account = self.account(api_key)
            oid = account.by_client_id.get(client_id) if client_id else _int_or_none(order_id)
            order = account.orders.get(oid) if oid is not None else None
            if order is None:
                raise SimError(ORDER_NOT_FOUND, "order does not exist")
            self._try_fill(account, self.market.by_id[order.symbol], order, now_ms)
            return order

    def cancel(self, api_key: str, order_id: str | None, client_id: str | None, now_ms: int) -> SimOrder:
        with self._lock:
            order = self.find(api_key, order_id, client_id, now_ms)
            if order.status != "NEW":
                raise SimError(INVALID_ORDER, f"order is {order.status}, cannot cancel")
            order.status = "CANCELLED"
            order.update_time = now_ms
            return order

    # -- state reads --------------------------------------------------------------------------

    def balance(self, api_key: str, now_ms: int) -> dict[str, float]:
        with self._lock:
            account = self.account(api_key)
            unrealised = self._unrealised(account, now_ms)
            used = self._used_margin(account, now_ms)
            equity = account.balance + unrealised
            return {
                "balance": account.balance,
                "equity": equity,
                "unrealised": unrealised,
                "used": used,
                "available": equity - used,
            }

    def positions(self, api_key: str, now_ms: int) -> list[dict[str, Any]]:
        with self._lock:
            account = self.account(api_key)
            rows = []
            for position in account.positions.values():
                if position.quantity == 0:
                    continue
                spec = self.market.by_id[position.symbol]
                mark = self.market.price_now(spec, now_ms)
                rows.append(
                    {
                        "positionId": str(spec.index + 1),
                        "symbol": position.symbol,
                        "positionSide": "LONG" if position.quantity > 0 else "SHORT",
                        "positionAmt": f"{abs(position.quantity)}",
                        "availableAmt": f"{abs(position.quantity)}",
                        "avgPrice": f"{position.avg_price}",
                        "markPrice": f"{mark}",
                        "unrealizedProfit": f"{(mark - position.avg_price) * position.quantity}",
                        "realisedProfit": f"{position.realised}",
                        "initialMargin": f"{abs(position.quantity) * position.avg_price / self.leverage}",
                        "leverage": int(self.leverage),
                        "isolated": False,
                        "liquidationPrice": 0,
                        "positionValue": f"{abs(position.quantity) * mark}",
                        "updateTime": now_ms,
                    }
                )
            return rows

    # -- internals ----------------------------------------------------------------------------

    def _check_margin(self, account: Account, spec: SymbolSpec, order: SimOrder, now_ms: int) -> None:
        position = account.positions.get(spec.exchange_id)
        signed = order.quantity if order.side == "BUY" else -order.quantity
        current = position.quantity if position else 0.0
        added = max(0.0, abs(current + signed) - abs(current))  # only growth needs new margin
        if order.reduce_only and added > 0:
            raise SimError(INVALID_ORDER, "reduceOnly order would increase the position")
        price = order.price or self.market.price_now(spec, now_ms)
        needed = added * price / self.leverage + order.quantity * price * self.taker_fee
        equity = account.balance + self._unrealised(account, now_ms)
        if needed > equity - self._used_margin(account, now_ms):
            raise SimError(INSUFFICIENT_MARGIN, f"insufficient margin: {needed:.2f} USDT needed")

    def _try_fill(self, account: Account, spec: SymbolSpec, order: SimOrder, now_ms: int) -> None:
        if order.status != "NEW":
            return
        ticker = self.market.ticker(spec, now_ms)
        best = float(ticker["ask"] if order.side == "BUY" else ticker["bid"])
        if order.type == "MARKET":
            self._fill(account, order, best, self.taker_fee, now_ms)
        elif (order.side == "BUY" and best <= order.price) or (order.side == "SELL" and best >= order.price):
            self._fill(
                account,
                order,
                min(best, order.price) if order.side == "BUY" else max(best, order.price),
                self.maker_fee,
                now_ms,
            )

    def _fill(self, account: Account, order: SimOrder, price: float, fee_rate: float, now_ms: int) -> None:
        position = account.positions.setdefault(order.symbol, SimPosition(order.symbol))
        signed = order.quantity if order.side == "BUY" else -order.quantity
        if position.quantity and (position.quantity > 0) != (signed > 0):
            closed = min(abs(signed), abs(position.quantity))
            pnl = (price - position.avg_price) * closed * (1 if position.quantity > 0 else -1)
            position.realised += pnl
            account.balance += pnl
        new_quantity = position.quantity + signed
        if new_quantity == 0:
            position.avg_price = 0.0
        elif position.quantity == 0 or (position.quantity > 0) != (new_quantity > 0):
            position.avg_price = price  # opened, or flipped to the other side
        elif abs(new_quantity) > abs(position.quantity):
            position.avg_price = (position.avg_price * abs(position.quantity) + price * abs(signed)) / abs(new_quantity)
        position.quantity = round(new_quantity, 12)
        order.commission = order.quantity * price * fee_rate
        account.balance -= order.commission
        order.status, order.executed_qty, order.avg_price, order.update_time = "FILLED", order.quantity, price, now_ms

    def _unrealised(self, account: Account, now_ms: int) -> float:
        total = 0.0
        for position in account.positions.values():
            if position.quantity:
                mark = self.market.price_now(self.market.by_id[position.symbol], now_ms)
                total += (mark - position.avg_price) * position.quantity
        return total

    def _used_margin(self, account: Account, now_ms: int) -> float:
        del now_ms
        return sum(abs(p.quantity) * p.avg_price / self.leverage for p in account.positions.values())


def _positive(text: str | None, name: str) -> float:
    try:
        value = float(text) if text is not None else float("nan")
    except ValueError:
        raise SimError(BAD_REQUEST, f"{name} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise SimError(BAD_REQUEST, f"{name} must be a positive number")
    return value


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
