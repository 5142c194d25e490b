"""The trading ledger of one book: orders, reservations, positions, account and trade log, in Redis.

Each change is one optimistic transaction (WATCH the state, compute, MULTI/EXEC, retry on conflict),
so replicas of execution never interleave half-applied changes. An order id is written once: the same
client order id arriving again finds the order already recorded, which makes a redelivered decision
harmless.

Opening is two steps around the exchange: :meth:`Ledger.reserve` records the order as ``pending`` and
counts it against the caps (atomically, so decisions made in parallel cannot overshoot them), then
:meth:`Ledger.confirm_open` turns it into a position or :meth:`Ledger.release` refuses it. A pending order
left by a crash is resolved by looking it up on the exchange (reconciliation).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from services.execution.checks import Limits, cap_refusal
from shared.keys import BookKeys
from shared.trading_state import (
    MAX_EQUITY_POINTS,
    MAX_TRADES_KEPT,
    AccountState,
    Order,
    Position,
    Snapshot,
    Trade,
    decode_account,
    read_snapshot,
)

MAX_CONFLICT_RETRIES = 50
SEND_LEASE_MS = 5_000  # renewed while the order is being sent: a crashed sender frees it within this
# Delete or extend the sending lease only while it is still ours (the holder's token fences it).
_RELEASE_IF_OURS = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_RENEW_IF_OURS = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
)
MAX_DISCREPANCIES_KEPT = 1_000
T = TypeVar("T")


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


class Ledger:
    def __init__(self, redis: Redis, keys: BookKeys, *, start_balance: float, limits: Limits | None = None) -> None:
        self._redis = redis
        self.keys = keys
        self.start_balance = start_balance
        self.limits = limits or Limits()
        self._release_if_ours = redis.register_script(_RELEASE_IF_OURS)
        self._renew_if_ours = redis.register_script(_RENEW_IF_OURS)

    @property
    def redis(self) -> Redis:
        return self._redis

    async def _transaction(self, watched: Sequence[str], body: Callable[[Pipeline], Awaitable[T]]) -> T:
        """Run ``body`` (reads, then ``pipe.multi()`` and the writes) until no watched key changed under it."""
        for _ in range(MAX_CONFLICT_RETRIES):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(*watched)
                    return await body(pipe)
                except WatchError:
                    continue
        raise RuntimeError("ledger kept conflicting; giving up on this change (it will be retried)")

    async def _account(self, pipe: Pipeline) -> AccountState:
        return decode_account(await pipe.hgetall(self.keys.account), self.start_balance)  # type: ignore[misc]

    async def _snapshot_in(self, pipe: Pipeline) -> Snapshot:
        positions = await pipe.hgetall(self.keys.positions)  # type: ignore[misc]
        reserved = await pipe.hgetall(self.keys.reservations)  # type: ignore[misc]
        return Snapshot(
            account=await self._account(pipe),
            positions={k.decode(): Position.model_validate_json(v) for k, v in positions.items()},
            reservations={k.decode(): Order.model_validate_json(v) for k, v in reserved.items()},
        )

    def _log_trade(self, pipe: Pipeline, trade: Trade) -> None:
        pipe.lpush(self.keys.trades, trade.model_dump_json())
        pipe.ltrim(self.keys.trades, 0, MAX_TRADES_KEPT - 1)

    # -- reads ---------------------------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        return await read_snapshot(self._redis, self.keys, start_balance=self.start_balance)

    async def order(self, client_order_id: str) -> Order | None:
        raw = await self._redis.hget(self.keys.orders, client_order_id)  # type: ignore[misc]
        return Order.model_validate_json(raw) if raw else None

    async def orders(self, limit: int = 100) -> list[Order]:
        raw = await self._redis.hvals(self.keys.orders)  # type: ignore[misc]
        orders = sorted((Order.model_validate_json(v) for v in raw), key=lambda o: o.created_at, reverse=True)
        return orders[:limit]

    async def trades(self, limit: int = 100) -> list[Trade]:
        raw = await self._redis.lrange(self.keys.trades, 0, limit - 1)  # type: ignore[misc]
        return [Trade.model_validate_json(v) for v in raw]

    async def equity_curve(self, limit: int = 500) -> list[tuple[float, float]]:
        raw = await self._redis.lrange(self.keys.equity, 0, limit - 1)  # type: ignore[misc]
        return [(float(ts), float(eq)) for ts, eq in (orjson.loads(v) for v in reversed(raw))]

    # -- opening: reserve, then confirm or release ---------------------------------------------------

    async def record_rejection(self, order: Order) -> OpenResult:
        """Keep a refused order once, so a redelivery is refused the same way."""
        created = bool(await self._redis.hsetnx(self.keys.orders, order.client_order_id, order.model_dump_json()))  # type: ignore[misc]
        return OpenResult(order if created else (await self.order(order.client_order_id) or order), created)

    async def reserve(self, order: Order) -> OpenResult:
        """Record ``order`` as pending and count it against the caps, or refuse it; atomically."""

        async def body(pipe: Pipeline) -> OpenResult:
            existing = await pipe.hget(self.keys.orders, order.client_order_id)  # type: ignore[misc]
            if existing:
                return OpenResult(Order.model_validate_json(existing), created=False)
            refusal = cap_refusal(await self._snapshot_in(pipe), order.symbol, order.notional, self.limits)
            recorded = order.rejected(refusal) if refusal else order
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(self.keys.orders, order.client_order_id, recorded.model_dump_json())
            if refusal is None:
                pipe.hset(self.keys.reservations, order.client_order_id, recorded.model_dump_json())
            await pipe.execute()
            return OpenResult(recorded, created=True)

        watched = (self.keys.orders, self.keys.positions, self.keys.reservations, self.keys.account)
        return await self._transaction(watched, body)

    async def confirm_open(self, order: Order, position: Position) -> Order:
        """The exchange filled the reserved order: record the fill and its position, drop the reservation."""

        async def body(pipe: Pipeline) -> Order:
            raw = await pipe.hget(self.keys.orders, order.client_order_id)  # type: ignore[misc]
            current = Order.model_validate_json(raw) if raw else None
            if current is not None and current.status != "pending":
                return current  # already confirmed (or released) by another replica
            account = await self._account(pipe)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(self.keys.orders, order.client_order_id, order.model_dump_json())
            pipe.hdel(self.keys.reservations, order.client_order_id)
            pipe.hset(self.keys.positions, position.symbol, position.model_dump_json())
            update = {"cash": account.cash - order.fee, "fees": account.fees + order.fee}
            pipe.hset(self.keys.account, mapping=_fields(account.model_copy(update=update)))
            self._log_trade(pipe, Trade.of(order))
            await pipe.execute()
            return order

        return await self._transaction((self.keys.orders, self.keys.account), body)

    def _sending(self, client_order_id: str) -> str:
        return f"{self.keys.reservations}:sending:{client_order_id}"

    async def claim_send(self, client_order_id: str) -> str | None:
        """One handler at a time sends a reserved order: a short lease (its token, or None when another
        handler holds it) that the holder renews while it sends, so a crashed holder frees it quickly."""
        token = uuid.uuid4().hex
        claimed = await self._redis.set(self._sending(client_order_id), token, px=SEND_LEASE_MS, nx=True)
        return token if claimed else None

    async def renew_send(self, client_order_id: str, token: str) -> bool:
        return bool(await self._renew_if_ours(keys=[self._sending(client_order_id)], args=[token, SEND_LEASE_MS]))

    async def end_send(self, client_order_id: str, token: str) -> None:
        await self._release_if_ours(keys=[self._sending(client_order_id)], args=[token])

    async def release(self, order: Order, reason: str) -> Order:
        """The reserved order was not filled: record why, and free what it reserved."""
        refused = order.rejected(reason)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.orders, order.client_order_id, refused.model_dump_json())
            pipe.hdel(self.keys.reservations, order.client_order_id)
            await pipe.execute()
        return refused

    # -- positions -----------------------------------------------------------------------------

    async def close_position(self, symbol: str, order: Order) -> CloseResult | None:
        """Close ``symbol``'s position at ``order.price``; None if it was already closed."""

        async def body(pipe: Pipeline) -> CloseResult | None:
            raw = await pipe.hget(self.keys.positions, symbol)  # type: ignore[misc]
            if not raw or await pipe.hexists(self.keys.orders, order.client_order_id):  # type: ignore[misc]
                return None
            position = Position.model_validate_json(raw)
            pnl = position.unrealized_pnl(order.price)
            account = await self._account(pipe)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(self.keys.orders, order.client_order_id, order.model_dump_json())
            pipe.hdel(self.keys.positions, symbol)
            updated = account.model_copy(
                update={
                    "cash": account.cash + pnl - order.fee,
                    "fees": account.fees + order.fee,
                    "realized_pnl": account.realized_pnl + pnl,
                }
            )
            pipe.hset(self.keys.account, mapping=_fields(updated))
            trade = Trade.of(order, realized_pnl=pnl, funding=position.funding)
            self._log_trade(pipe, trade)
            await pipe.execute()
            return CloseResult(order, trade, position)

        return await self._transaction((self.keys.orders, self.keys.positions, self.keys.account), body)

    async def apply_funding(self, symbol: str, amount: float, until_ms: int) -> bool:
        """Book a funding payment (received > 0, paid < 0) on the position and the wallet, once per time."""

        async def body(pipe: Pipeline) -> bool:
            raw = await pipe.hget(self.keys.positions, symbol)  # type: ignore[misc]
            if not raw:
                return False
            position = Position.model_validate_json(raw)
            if until_ms <= position.funded_until_ms:
                return False  # already settled (a replica, or a repeated tick)
            account = await self._account(pipe)
            pipe.multi()  # type: ignore[no-untyped-call]
            moved = position.model_copy(update={"funding": position.funding + amount, "funded_until_ms": until_ms})
            pipe.hset(self.keys.positions, symbol, moved.model_dump_json())
            update = {"cash": account.cash + amount, "funding": account.funding + amount}
            pipe.hset(self.keys.account, mapping=_fields(account.model_copy(update=update)))
            await pipe.execute()
            return True

        return await self._transaction((self.keys.positions, self.keys.account), body)

    async def mark_checked(self, symbol: str, until_ms: int) -> None:
        """The venue walked the position's resting levels up to ``until_ms`` (never moves back)."""

        async def body(pipe: Pipeline) -> None:
            raw = await pipe.hget(self.keys.positions, symbol)  # type: ignore[misc]
            if not raw:
                return
            position = Position.model_validate_json(raw)
            if until_ms <= position.checked_until_ms:
                return
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(
                self.keys.positions,
                symbol,
                position.model_copy(update={"checked_until_ms": until_ms}).model_dump_json(),
            )
            await pipe.execute()

        await self._transaction((self.keys.positions,), body)

    async def put_position(self, position: Position) -> None:
        """Write a position as the exchange has it (adopted, resized, protective orders placed)."""
        await self._redis.hset(self.keys.positions, position.symbol, position.model_dump_json())  # type: ignore[misc]

    async def drop_position(self, symbol: str) -> None:
        await self._redis.hdel(self.keys.positions, symbol)  # type: ignore[misc]

    async def mark_to_market(
        self, prices: Mapping[str, tuple[float, float]], *, now: float | None = None, cash: float | None = None
    ) -> Snapshot:
        """New last prices ``{symbol: (price, at)}`` (and, live, the exchange's wallet balance); update the
        equity peak and the day's starting equity; return the new snapshot."""
        now = time.time() if now is None else now

        async def body(pipe: Pipeline) -> None:
            positions = {
                k.decode(): Position.model_validate_json(v)
                for k, v in (await pipe.hgetall(self.keys.positions)).items()  # type: ignore[misc]
            }
            account = await self._account(pipe)
            if cash is not None:
                account = account.model_copy(update={"cash": cash, "synced_at": now})
            marked = {
                s: p.model_copy(update={"last_price": prices[s][0], "price_at": prices[s][1]}) if s in prices else p
                for s, p in positions.items()
            }
            equity = account.cash + sum(p.unrealized_pnl() for p in marked.values())
            update: dict[str, Any] = {"peak_equity": max(account.peak_equity, equity)}
            if account.day != _today(now):
                update |= {"day": _today(now), "day_start_equity": equity}
            pipe.multi()  # type: ignore[no-untyped-call]
            if marked:
                pipe.hset(self.keys.positions, mapping={s: p.model_dump_json() for s, p in marked.items()})
            pipe.hset(self.keys.account, mapping=_fields(account.model_copy(update=update)))
            await pipe.execute()

        await self._transaction((self.keys.positions, self.keys.account), body)
        return await self.snapshot()

    async def record_equity_point(self, equity: float, *, now: float | None = None) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(self.keys.equity, orjson.dumps([time.time() if now is None else now, round(equity, 8)]))
            pipe.ltrim(self.keys.equity, 0, MAX_EQUITY_POINTS - 1)
            await pipe.execute()

    # -- reconciliation findings -------------------------------------------------------------------

    async def record_discrepancy(self, kind: str, symbol: str, detail: str, *, now: float | None = None) -> None:
        entry = {"kind": kind, "symbol": symbol, "detail": detail, "at": time.time() if now is None else now}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(self.keys.discrepancies, orjson.dumps(entry))
            pipe.ltrim(self.keys.discrepancies, 0, MAX_DISCREPANCIES_KEPT - 1)
            await pipe.execute()

    async def discrepancies(self, limit: int = 100) -> list[dict[str, Any]]:
        raw = await self._redis.lrange(self.keys.discrepancies, 0, limit - 1)  # type: ignore[misc]
        return [orjson.loads(v) for v in raw]
