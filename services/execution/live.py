"""The live venue: orders on the exchange through the gateway's account endpoints (ccxt).

- The account's position mode is read at start: hedge mode sends ``positionSide`` LONG/SHORT, one-way
  mode BOTH (a hedge-mode account refuses BOTH).
- Before a symbol's first order, its margin mode and leverage are set as configured (read first, set
  only when different); when the exchange refuses, the symbol is not traded and the reason is kept.
- Every entry carries its stop-loss and take-profit (attached: the exchange places them as reduce-only
  triggers on the mark price when the entry fills); :meth:`protect` checks they rest there and places
  what is missing, so a dead bot leaves protected positions.
- An order is never sent twice: before placing, its client order id is looked up; after a timeout too.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Literal

import orjson
from redis.asyncio import Redis

from services.execution.checks import Plan
from services.execution.orders import stop_order_id, take_profit_order_id
from services.execution.venue import Check, Fill
from shared.errors import (
    BadRequestError,
    DuplicateOrderError,
    OrderNotFoundError,
    PermanentExchangeError,
    TransientExchangeError,
)
from shared.gateway import ExchangeAccount, Protection, Quote
from shared.keys import BookKeys
from shared.trading_state import MarginMode, Mode, Position

SETUP_RETRY_S = 300.0  # a symbol whose setup the exchange refused is asked again after this long
PROTECTION_ATTEMPTS = 5
CLOSED_STATES = ("canceled", "cancelled", "expired", "rejected")


def _fill_of(raw: dict[str, Any]) -> Fill | None:
    filled = float(raw.get("filled") or 0.0)
    if filled <= 0:
        return None
    price = float(raw.get("average") or raw.get("price") or 0.0)
    fee = abs(float((raw.get("fee") or {}).get("cost") or 0.0))
    stamp = raw.get("lastTradeTimestamp") or raw.get("timestamp")
    return Fill(
        price=price,
        quantity=filled,
        fee=fee,
        exchange_order_id=str(raw["id"]) if raw.get("id") else None,
        at=float(stamp) / 1000 if stamp else None,
    )


def _kind(order: dict[str, Any]) -> str:
    """STOP_MARKET, TAKE_PROFIT_MARKET, MARKET, LIMIT... as the exchange names it."""
    return str((order.get("info") or {}).get("type") or order.get("type") or "").upper()


def _position_side(order: dict[str, Any]) -> str:
    return str((order.get("info") or {}).get("positionSide") or "BOTH").upper()


class LiveVenue:
    mode: Mode = "live"

    def __init__(
        self, account: ExchangeAccount, redis: Redis, keys: BookKeys, *, leverage: int, margin_mode: MarginMode
    ) -> None:
        self._account = account
        self._redis = redis
        self._keys = keys
        self.leverage = leverage
        self.margin_mode: MarginMode = margin_mode
        self.hedged: bool | None = None

    async def start(self) -> None:
        self.hedged = await self._account.hedged()

    async def _hedged(self) -> bool:
        if self.hedged is None:
            await self.start()
        return bool(self.hedged)

    def position_side(self, side: str) -> Literal["BOTH", "LONG", "SHORT"]:
        if not self.hedged:
            return "BOTH"
        return "LONG" if side == "long" else "SHORT"

    # -- per-symbol setup ----------------------------------------------------------------------

    async def prepare(self, symbol: str) -> str | None:
        raw = await self._redis.hget(self._keys.symbol_setup, symbol)  # type: ignore[misc]
        done = orjson.loads(raw) if raw else None
        wanted = {"leverage": self.leverage, "margin_mode": self.margin_mode}
        if done and done.get("ok") and all(done.get(k) == v for k, v in wanted.items()):
            return None
        if done and not done.get("ok") and time.time() - float(done["at"]) < SETUP_RETRY_S:
            return str(done["reason"])
        try:
            await self._set_up(symbol)
        except (PermanentExchangeError, BadRequestError) as error:  # refused: a retry cannot mend it
            reason = f"{symbol} not traded: the exchange refused {self.leverage}x {self.margin_mode} margin ({error})"
            await self._redis.hset(  # type: ignore[misc]
                self._keys.symbol_setup,
                symbol,
                orjson.dumps({"ok": False, "reason": reason, "at": time.time()}).decode(),
            )
            return reason
        await self._redis.hset(  # type: ignore[misc]
            self._keys.symbol_setup, symbol, orjson.dumps({"ok": True, **wanted, "at": time.time()}).decode()
        )
        return None

    async def _set_up(self, symbol: str) -> None:
        await self._account.set_margin_mode(symbol, self.margin_mode)
        sides: tuple[Literal["BOTH", "LONG", "SHORT"], ...] = ("LONG", "SHORT") if await self._hedged() else ("BOTH",)
        for side in sides:
            await self._account.set_leverage(symbol, self.leverage, side)

    # -- orders --------------------------------------------------------------------------------

    async def find(self, symbol: str, client_order_id: str) -> Fill | None:
        try:
            raw = await self._account.order_by_client_id(symbol, client_order_id)
        except OrderNotFoundError:
            return None
        fill = _fill_of(raw)
        if fill is None and str(raw.get("status")) in CLOSED_STATES:
            raise PermanentExchangeError(f"order {client_order_id} ended {raw.get('status')} without a fill")
        if fill is None:
            raise TransientExchangeError(f"order {client_order_id} is not filled yet")
        return fill

    async def _place(self, symbol: str, client_order_id: str, **order: Any) -> Fill:
        """Place once; whatever the answer, the fill is read back by client id (the only truth)."""
        hedged = await self._hedged()
        with contextlib.suppress(DuplicateOrderError, TransientExchangeError):  # it may exist: the lookup decides
            await self._account.create_order(symbol, client_order_id=client_order_id, hedged=hedged, **order)
        fill = await self.find(symbol, client_order_id)
        if fill is None:
            raise TransientExchangeError(f"order {client_order_id} was not placed; the redelivered decision places it")
        return fill

    async def open(self, plan: Plan, client_order_id: str) -> Fill:
        return await self._place(
            plan.symbol,
            client_order_id,
            side="buy" if plan.side == "long" else "sell",
            amount=plan.quantity,
            attached=Protection(plan.stop_loss, plan.take_profit),
        )

    async def close(self, position: Position, client_order_id: str, price: float) -> Fill:
        await self.cancel_protection(position)
        return await self._place(
            position.symbol,
            client_order_id,
            side="sell" if position.side == "long" else "buy",
            amount=position.quantity,
            reduce_only=True,
        )

    async def funding(self, position: Position) -> float | None:
        """The exchange's funding on ``position``'s symbol since it opened (its income history)."""
        since_ms = int(position.opened_at * 1000)
        rows = await self._account.funding_history(position.symbol, since_ms)
        return sum(float(row.get("amount") or 0.0) for row in rows if int(row.get("timestamp") or 0) >= since_ms)

    async def check(self, position: Position, quote: Quote) -> Check:
        return Check()  # the exchange's own orders act; reconciliation books what they did

    # -- protection ----------------------------------------------------------------------------

    async def protective_orders(self, position: Position) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The resting stop-loss and take-profit of ``position``, as the exchange lists them."""
        side = self.position_side(position.side)
        stop = target = None
        for order in await self._account.open_orders(position.symbol):
            if self.hedged and _position_side(order) != side:
                continue
            kind = _kind(order)
            if kind.startswith("STOP"):
                stop = order
            elif kind.startswith("TAKE_PROFIT"):
                target = order
        return stop, target

    async def protect(self, position: Position) -> Position:
        stop, target = await self.protective_orders(position)
        closing = "sell" if position.side == "long" else "buy"
        if stop is None and position.stop_loss is not None:
            stop = await self._trigger(position, closing, "stop", position.stop_loss)
        if target is None and position.take_profit is not None:
            target = await self._trigger(position, closing, "take_profit", position.take_profit)
        return position.model_copy(
            update={
                "stop_order_id": str(stop["id"]) if stop else None,
                "take_profit_order_id": str(target["id"]) if target else None,
            }
        )

    async def _trigger(
        self, position: Position, side: str, kind: Literal["stop", "take_profit"], level: float
    ) -> dict[str, Any]:
        """A reduce-only trigger on the mark price that closes ``position`` at ``level``."""
        make_id = stop_order_id if kind == "stop" else take_profit_order_id
        for attempt in range(PROTECTION_ATTEMPTS):  # a spent id (an earlier, cancelled trigger) takes the next
            client_order_id = make_id(position.client_order_id, attempt)
            try:
                return await self._account.create_order(
                    position.symbol, side, position.quantity, client_order_id=client_order_id,
                    hedged=await self._hedged(), reduce_only=True,
                    stop_loss_price=level if kind == "stop" else None,
                    take_profit_price=level if kind == "take_profit" else None,
                )  # fmt: skip
            except DuplicateOrderError:
                continue
        raise PermanentExchangeError(f"no fresh client id left to protect {position.symbol}")

    async def cancel_protection(self, position: Position) -> None:
        for order in await self.protective_orders(position):
            if order is not None:
                with contextlib.suppress(OrderNotFoundError):  # it fired or was cancelled meanwhile
                    await self._account.cancel_order(position.symbol, str(order["id"]))
