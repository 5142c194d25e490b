"""Trading state in Redis: account, open positions, orders, trades, equity curve, halts.

execution writes it; ia2 and monitor read it. These keys carry no TTL and must live in a Redis that
never evicts them (``noeviction``, or ``volatile-lru`` where only cache keys have a TTL), with AOF on
in deploy, so positions survive a restart of any service or of Redis.

Futures-style accounting: ``cash`` moves only by realised PnL and fees; equity is cash plus the
unrealised PnL of open positions at their last price.
"""

from __future__ import annotations

import time
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.contracts import Side
from shared.keys import ACCOUNT, HALT, KILL_SWITCH, OUTCOMES, POSITIONS

MAX_TRADES_KEPT = 10_000
MAX_EQUITY_POINTS = 20_000


class Position(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    symbol: str
    side: Side
    quantity: float = Field(gt=0)
    entry_price: float = Field(gt=0)
    stop_loss: float | None = None
    take_profit: float | None = None
    last_price: float = Field(gt=0)
    opened_at: float
    decision_id: str
    client_order_id: str
    signal_kind: str = ""
    fees: float = 0.0

    @property
    def direction(self) -> int:
        return 1 if self.side == "long" else -1

    def unrealized_pnl(self, price: float | None = None) -> float:
        return (((price or self.last_price) - self.entry_price) * self.quantity) * self.direction

    def notional(self, price: float | None = None) -> float:
        return (price or self.last_price) * self.quantity


class AccountState(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    start_balance: float = 10_000.0
    cash: float = 10_000.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    peak_equity: float = 10_000.0
    day: str = ""
    day_start_equity: float = 10_000.0


class Order(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    client_order_id: str
    decision_id: str
    symbol: str
    side: Side
    kind: Literal["open", "close"]
    quantity: float
    status: Literal["filled", "rejected"]
    price: float = 0.0
    fee: float = 0.0
    mode: Literal["paper", "live"] = "paper"
    exchange_order_id: str | None = None
    reason: str = ""
    created_at: float = Field(default_factory=time.time)


class Trade(BaseModel):
    """A filled order as the trade log keeps it."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    client_order_id: str
    decision_id: str
    symbol: str
    side: Side
    kind: Literal["open", "close"]
    quantity: float
    price: float
    fee: float
    realized_pnl: float = 0.0
    reason: str = ""
    at: float = Field(default_factory=time.time)


class Snapshot(BaseModel):
    """Everything a risk check needs, read in one round trip."""

    model_config = ConfigDict(frozen=True)

    account: AccountState
    positions: dict[str, Position]
    halt_reason: str | None = None
    kill_reason: str | None = None

    @property
    def equity(self) -> float:
        return self.account.cash + sum(p.unrealized_pnl() for p in self.positions.values())

    @property
    def exposure(self) -> float:
        return sum(p.notional() for p in self.positions.values())

    @property
    def drawdown(self) -> float:
        peak = max(self.account.peak_equity, self.equity)
        return 0.0 if peak <= 0 else (peak - self.equity) / peak

    @property
    def daily_loss(self) -> float:
        start = self.account.day_start_equity
        return 0.0 if start <= 0 else max(0.0, (start - self.equity) / start)


def _reason(raw: bytes | None) -> str | None:
    if not raw:
        return None
    return str(orjson.loads(raw).get("reason") or "unspecified")


async def read_snapshot(redis: Redis, *, start_balance: float = 10_000.0) -> Snapshot:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(ACCOUNT)
        pipe.hgetall(POSITIONS)
        pipe.get(HALT)
        pipe.get(KILL_SWITCH)
        account_raw, positions_raw, halt, kill = await pipe.execute()
    account = (
        AccountState.model_validate({k.decode(): v.decode() for k, v in account_raw.items()})
        if account_raw
        else AccountState(
            start_balance=start_balance, cash=start_balance, peak_equity=start_balance, day_start_equity=start_balance
        )
    )
    positions = {k.decode(): Position.model_validate_json(v) for k, v in positions_raw.items()}
    return Snapshot(account=account, positions=positions, halt_reason=_reason(halt), kill_reason=_reason(kill))


async def set_flag(redis: Redis, key: str, reason: str) -> bool:
    """Latch a halt or the kill switch; True if it was not set before (the first reason is kept)."""
    return bool(await redis.set(key, orjson.dumps({"reason": reason, "at": time.time()}), nx=True))


async def clear_flag(redis: Redis, key: str) -> bool:
    return bool(await redis.delete(key))


async def record_outcome(redis: Redis, signal_kind: str, won: bool) -> None:
    await redis.hincrby(OUTCOMES, f"{signal_kind}:{'wins' if won else 'losses'}", 1)  # type: ignore[misc]


async def read_outcomes(redis: Redis, signal_kind: str) -> tuple[int, int]:
    wins, losses = await redis.hmget(OUTCOMES, [f"{signal_kind}:wins", f"{signal_kind}:losses"])  # type: ignore[misc]
    return int(wins or 0), int(losses or 0)
