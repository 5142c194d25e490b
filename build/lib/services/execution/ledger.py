"""The trading ledger: orders, positions, account and trade log, updated atomically in Redis.

Each change is one optimistic transaction (WATCH the state, compute, MULTI/EXEC, retry on conflict),
so replicas of execution never interleave half-applied fills. An order id is written once: the same
client order id arriving again returns the order already recorded, which is what makes a
redelivered decision harmless.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from shared.keys import ACCOUNT, EQUITY_CURVE, ORDERS, POSITIONS, TRADES
from shared.trading_state import (
    MAX_EQUITY_POINTS,
    MAX_TRADES_KEPT,
    AccountState,
    Order,
    Position,
    Snapshot,
    Trade,
    read_snapshot,
)

MAX_CONFLICT_RETRIES = 50


@dataclass(frozen=True)
class OpenResult:
    order: Order
    created: bool  # False: this client order id was already recorded (a redelivery)


@dataclass(frozen=True)
class CloseResult:
    order: Order
    trade: Trade
    position: Position


def _fields(account: AccountState) -> dict[str, str]:
    return {k: str(v) for k, v in account.model_dump().items()}


def _today(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class HardLimits:
    """Caps checked inside the fill's transaction: decisions made in parallel cannot overshoot them."""

    max_open_positions: int = 1_000_000
    max_total_exposure: float = float("inf")  # notional, as a multiple of equity


class Ledger:
    def __init__(self, redis: Redis, *, start_balance: float, limits: HardLimits | None = None) -> None:
        self._redis = redis
        self.start_balance = start_balance
        self.limits = limits or HardLimits()

    @property
    def redis(self) -> Redis:
        return self._redis

    async def snapshot(self) -> Snapshot:
        return await read_snapshot(self._redis, start_balance=self.start_balance)

    async def order(self, client_order_id: str) -> Order | None:
        raw = await self._redis.hget(ORDERS, client_order_id)  # type: ignore[misc]
        return Order.model_validate_json(raw) if raw else None

    async def record_rejection(self, order: Order) -> OpenResult:
        """Keep a refused order (kill switch, no price...) once, so a redelivery is refused the same way."""
        created = bool(await self._redis.hsetnx(ORDERS, order.client_order_id, order.model_dump_json()))  # type: ignore[misc]
        return OpenResult(order if created else (await self.order(order.client_order_id) or order), created)

    async def open_position(self, order: Order, position: Position) -> OpenResult:
        """Record a filled opening order and its position; refuse a second position on the same symbol."""
        for _ in range(MAX_CONFLICT_RETRIES):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(ORDERS, POSITIONS, ACCOUNT)
                    existing = await pipe.hget(ORDERS, order.client_order_id)  # type: ignore[misc]
                    if existing:
                        return OpenResult(Order.model_validate_json(existing), created=False)
                    raw_positions = await pipe.hgetall(POSITIONS)  # type: ignore[misc]
                    account = await self._account(pipe)
                    refusal = self._refusal(position, raw_positions, account)
                    if refusal is not None:
                        refused = order.model_copy(
                            update={"status": "rejected", "price": 0.0, "fee": 0.0, "reason": refusal}
                        )
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.hset(ORDERS, order.client_order_id, refused.model_dump_json())
                        await pipe.execute()
                        return OpenResult(refused, created=True)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(ORDERS, order.client_order_id, order.model_dump_json())
                    pipe.hset(POSITIONS, position.symbol, position.model_dump_json())
                    pipe.hset(
                        ACCOUNT,
                        mapping=_fields(
                            account.model_copy(
                                update={"cash": account.cash - order.fee, "fees": account.fees + order.fee}
                            )
                        ),
                    )
                    self._log_trade(pipe, order, realized_pnl=0.0)
                    await pipe.execute()
                    return OpenResult(order, created=True)
                except WatchError:
                    continue
        raise RuntimeError("ledger kept conflicting; giving up on this fill (it will be retried)")

    def _refusal(self, position: Position, raw_positions: dict[bytes, bytes], account: AccountState) -> str | None:
        if position.symbol.encode() in raw_positions:
            return "position already open"
        if len(raw_positions) >= self.limits.max_open_positions:
            return f"{len(raw_positions)} positions open at fill time, the maximum is {self.limits.max_open_positions}"
        held = [Position.model_validate_json(v) for v in raw_positions.values()]
        equity = account.cash + sum(p.unrealized_pnl() for p in held)
        exposure = sum(p.notional() for p in held) + position.notional(position.entry_price)
        if exposure > self.limits.max_total_exposure * equity:
            cap = f"{self.limits.max_total_exposure:.0%} of equity"
            return f"total exposure {exposure:,.0f} would exceed {cap} at fill time"
        return None

    async def close_position(self, symbol: str, order: Order) -> CloseResult | None:
        """Close ``symbol``'s position at ``order.price``; None if it was already closed."""
        for _ in range(MAX_CONFLICT_RETRIES):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(ORDERS, POSITIONS, ACCOUNT)
                    raw = await pipe.hget(POSITIONS, symbol)  # type: ignore[misc]
                    if not raw or await pipe.hexists(ORDERS, order.client_order_id):  # type: ignore[misc]
                        return None
                    position = Position.model_validate_json(raw)
                    pnl = position.unrealized_pnl(order.price)
                    account = await self._account(pipe)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(ORDERS, order.client_order_id, order.model_dump_json())
                    pipe.hdel(POSITIONS, symbol)
                    updated = account.model_copy(
                        update={
                            "cash": account.cash + pnl - order.fee,
                            "fees": account.fees + order.fee,
                            "realized_pnl": account.realized_pnl + pnl,
                        }
                    )
                    pipe.hset(ACCOUNT, mapping=_fields(updated))
                    trade = self._log_trade(pipe, order, realized_pnl=pnl)
                    await pipe.execute()
                    return CloseResult(order, trade, position)
                except WatchError:
                    continue
        raise RuntimeError("ledger kept conflicting while closing")

    async def mark_to_market(self, prices: Mapping[str, float], *, now: float | None = None) -> Snapshot:
        """Update last prices, the equity peak and the day's starting equity; return the new snapshot."""
        now = time.time() if now is None else now
        for _ in range(MAX_CONFLICT_RETRIES):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(POSITIONS, ACCOUNT)
                    positions = {
                        k.decode(): Position.model_validate_json(v)
                        for k, v in (await pipe.hgetall(POSITIONS)).items()  # type: ignore[misc]
                    }
                    account = await self._account(pipe)
                    marked = {
                        s: p.model_copy(update={"last_price": prices[s]}) if prices.get(s, 0) > 0 else p
                        for s, p in positions.items()
                    }
                    equity = account.cash + sum(p.unrealized_pnl() for p in marked.values())
                    update: dict[str, float | str] = {"peak_equity": max(account.peak_equity, equity)}
                    if account.day != _today(now):
                        update |= {"day": _today(now), "day_start_equity": equity}
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if marked:
                        pipe.hset(POSITIONS, mapping={s: p.model_dump_json() for s, p in marked.items()})
                    pipe.hset(ACCOUNT, mapping=_fields(account.model_copy(update=update)))
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        return await self.snapshot()

    async def record_equity_point(self, equity: float, *, now: float | None = None) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(EQUITY_CURVE, orjson.dumps([time.time() if now is None else now, round(equity, 8)]))
            pipe.ltrim(EQUITY_CURVE, 0, MAX_EQUITY_POINTS - 1)
            await pipe.execute()

    async def orders(self, limit: int = 100) -> list[Order]:
        raw = await self._redis.hvals(ORDERS)  # type: ignore[misc]
        orders = sorted((Order.model_validate_json(v) for v in raw), key=lambda o: o.created_at, reverse=True)
        return orders[:limit]

    async def trades(self, limit: int = 100) -> list[Trade]:
        raw = await self._redis.lrange(TRADES, 0, limit - 1)  # type: ignore[misc]
        return [Trade.model_validate_json(v) for v in raw]

    async def equity_curve(self, limit: int = 500) -> list[tuple[float, float]]:
        raw = await self._redis.lrange(EQUITY_CURVE, 0, limit - 1)  # type: ignore[misc]
        return [(float(ts), float(eq)) for ts, eq in (orjson.loads(v) for v in reversed(raw))]

    async def _account(self, pipe: Pipeline) -> AccountState:
        raw = await pipe.hgetall(ACCOUNT)  # type: ignore[misc]
        if raw:
            return AccountState.model_validate({k.decode(): v.decode() for k, v in raw.items()})
        start = self.start_balance
        return AccountState(start_balance=start, cash=start, peak_equity=start, day_start_equity=start)

    @staticmethod
    def _log_trade(pipe: Pipeline, order: Order, *, realized_pnl: float) -> Trade:
        trade = Trade(
            client_order_id=order.client_order_id,
            decision_id=order.decision_id,
            symbol=order.symbol,
            side=order.side,
            kind=order.kind,
            quantity=order.quantity,
            price=order.price,
            fee=order.fee,
            realized_pnl=realized_pnl,
            reason=order.reason,
        )
        pipe.lpush(TRADES, trade.model_dump_json())
        pipe.ltrim(TRADES, 0, MAX_TRADES_KEPT - 1)
        return trade
