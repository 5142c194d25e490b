"""Trading state in Redis: account, open positions, orders, trades, equity curve, halts, per book.

execution writes it; ia2 and monitor read it. These keys carry no TTL and must live in a Redis that
never evicts them (``noeviction``, or ``volatile-lru`` where only cache keys have a TTL), with AOF on
in deploy, so positions survive a restart of any service or of Redis. Each book (paper, or one live
account) has its own keys (shared/keys.py): paper and live never see or change each other.

Setting or clearing a halt or the kill switch also publishes an ``AccountEvent`` on ``stream:events``,
in the same Lua call, so the journal and the notifications see every change and only real ones.

Futures-style accounting: ``cash`` is the wallet balance, moved only by realised PnL, fees and funding;
equity is cash plus the unrealised PnL of open positions at their last price. Live, the wallet balance
and the positions come from the exchange (reconciliation); paper computes them with shared/perps.py.
"""

from __future__ import annotations

import time
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.contracts import AccountEvent, EventKind, Side
from shared.keys import ACTIVE_BOOK, KILL_SWITCH, OUTCOMES, PAPER_BOOK, STREAM_EVENTS, BookKeys, book_keys
from shared.messages import encode

MAX_TRADES_KEPT = 10_000
MAX_EQUITY_POINTS = 20_000

Mode = Literal["paper", "live"]
MarginMode = Literal["isolated", "cross"]


class Position(BaseModel):
    """An open position, as the ledger keeps it (live: as reconciliation last agreed it with the exchange)."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    symbol: str = Field(description="the market, e.g. BTC/USDT:USDT")
    side: Side = Field(description="long or short")
    quantity: float = Field(gt=0, description="contracts held, in the base currency")
    entry_price: float = Field(gt=0, description="the average entry price")
    stop_loss: float | None = Field(None, description="the protective stop's price")
    take_profit: float | None = Field(None, description="the target's price")
    last_price: float = Field(gt=0, description="the latest price seen, the unrealised PnL's base")
    price_at: float = Field(0.0, description="when last_price was the market's (exchange time where known)")
    opened_at: float = Field(description="when it opened, in seconds since the epoch")
    decision_id: str = Field(description="the decision that opened it")
    client_order_id: str = Field(description="the opening order's client id")
    signal_kind: str = Field("", description="the setup it was opened on, for outcome tracking")
    fees: float = Field(0.0, description="fees paid on it so far (its opening fill)")
    funding: float = Field(0.0, description="funding received (+) or paid (-) while it was open")
    funded_until_ms: int = Field(0, description="funding settled up to this time (paper; the venue's clock)")
    checked_until_ms: int = Field(
        0, description="resting levels walked through the candles up to this time (paper; the venue's clock)"
    )
    leverage: float = Field(1.0, gt=0, description="the leverage it was opened with")
    margin_mode: MarginMode = Field("cross", description="isolated or cross")
    margin: float = Field(0.0, description="initial margin locked when it opened")
    liquidation_price: float | None = Field(None, description="where the venue would liquidate it, if known")
    origin: Literal["pipeline", "adopted"] = Field(
        "pipeline", description="adopted: found on the exchange, not opened by the pipeline"
    )
    stop_order_id: str | None = Field(None, description="the exchange-side stop order's id (live)")
    take_profit_order_id: str | None = Field(None, description="the exchange-side target order's id (live)")

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
    funding: float = 0.0
    peak_equity: float = 10_000.0
    day: str = ""
    day_start_equity: float = 10_000.0
    synced_at: float = 0.0  # live: when cash last came from the exchange

    @classmethod
    def starting(cls, balance: float) -> AccountState:
        return cls(start_balance=balance, cash=balance, peak_equity=balance, day_start_equity=balance)


OrderStatus = Literal["pending", "filled", "rejected"]


class Order(BaseModel):
    """An order as the ledger keeps it. ``pending``: reserved against the caps and being placed."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    client_order_id: str = Field(description="our id of the order, also sent to the exchange")
    decision_id: str = Field(description="the decision that asked for it")
    symbol: str = Field(description="the market, e.g. BTC/USDT:USDT")
    side: Side = Field(description="the position's side, long or short (a close trades the other way)")
    kind: Literal["open", "close"] = Field(description="opens or closes a position")
    quantity: float = Field(description="contracts, in the base currency")
    status: OrderStatus = Field(description="pending (being placed), filled or rejected")
    price: float = Field(0.0, description="the fill's average price (0 unless filled)")
    fee: float = Field(0.0, description="the fee paid, in the quote currency")
    mode: Mode = Field("paper", description="paper, or live on the exchange")
    exchange_order_id: str | None = Field(None, description="the exchange's id of the order (live)")
    reason: str = Field("", description="why it was sent, or why it was refused")
    created_at: float = Field(default_factory=time.time, description="when it was made, in seconds since the epoch")
    filled_at: float | None = Field(None, description="the venue's time of the fill, in seconds since the epoch")
    notional: float = Field(0.0, description="what a pending order reserves against the exposure caps")

    def filled(
        self,
        *,
        price: float,
        fee: float,
        quantity: float,
        exchange_order_id: str | None = None,
        at: float | None = None,
    ) -> Order:
        return self.model_copy(
            update={
                "status": "filled",
                "price": price,
                "fee": fee,
                "quantity": quantity,
                "exchange_order_id": exchange_order_id or self.exchange_order_id,
                "filled_at": at,
            }
        )

    def rejected(self, reason: str) -> Order:
        return self.model_copy(update={"status": "rejected", "price": 0.0, "fee": 0.0, "reason": reason})


class Trade(BaseModel):
    """A filled order as the trade log keeps it; a close carries its realised PnL, fees and funding."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    client_order_id: str = Field(description="the filled order's client id")
    decision_id: str = Field(description="the decision behind it")
    symbol: str = Field(description="the market, e.g. BTC/USDT:USDT")
    side: Side = Field(description="the position's side, long or short")
    kind: Literal["open", "close"] = Field(description="opened or closed a position")
    quantity: float = Field(description="contracts filled")
    price: float = Field(description="the fill's average price")
    fee: float = Field(description="the fee paid, in the quote currency")
    realized_pnl: float = Field(0.0, description="price PnL of the closed quantity (fees and funding apart)")
    funding: float = Field(0.0, description="funding received (+) or paid (-) over the position's life")
    reason: str = Field("", description="why: the decision, the stop, the target, the kill switch...")
    mode: Mode = Field("paper", description="paper, or live on the exchange")
    at: float = Field(default_factory=time.time, description="the venue's time of the fill, in seconds since the epoch")

    @classmethod
    def of(cls, order: Order, *, realized_pnl: float = 0.0, funding: float = 0.0) -> Trade:
        """The one mapping from a filled order to its trade-log line."""
        return cls(
            client_order_id=order.client_order_id,
            decision_id=order.decision_id,
            symbol=order.symbol,
            side=order.side,
            kind=order.kind,
            quantity=order.quantity,
            price=order.price,
            fee=order.fee,
            realized_pnl=realized_pnl,
            funding=funding,
            reason=order.reason,
            mode=order.mode,
            at=order.filled_at or time.time(),
        )


class Snapshot(BaseModel):
    """Everything a risk check needs, read in one round trip."""

    model_config = ConfigDict(frozen=True)

    account: AccountState
    positions: dict[str, Position]
    reservations: dict[str, Order] = Field(default_factory=dict)
    halt_reason: str | None = None
    kill_reason: str | None = None

    @property
    def equity(self) -> float:
        return self.account.cash + sum(p.unrealized_pnl() for p in self.positions.values())

    @property
    def exposure(self) -> float:
        return sum(p.notional() for p in self.positions.values())

    @property
    def committed_exposure(self) -> float:
        """Open positions plus orders being placed: what a new order's caps must count."""
        return self.exposure + sum(o.notional for o in self.reservations.values())

    @property
    def committed_symbols(self) -> set[str]:
        return set(self.positions) | {o.symbol for o in self.reservations.values()}

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


def decode_account(raw: dict[bytes, bytes], start_balance: float) -> AccountState:
    if not raw:
        return AccountState.starting(start_balance)
    return AccountState.model_validate({k.decode(): v.decode() for k, v in raw.items()})


async def active_book(redis: Redis) -> str:
    """The book execution trades on (paper until execution names another)."""
    raw = await redis.get(ACTIVE_BOOK)
    return raw.decode() if raw else PAPER_BOOK


async def read_snapshot(redis: Redis, keys: BookKeys | None = None, *, start_balance: float = 10_000.0) -> Snapshot:
    """The book's state; without ``keys``, the active book's."""
    keys = keys or book_keys(await active_book(redis))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.account)
        pipe.hgetall(keys.positions)
        pipe.hgetall(keys.reservations)
        pipe.get(keys.halt)
        pipe.get(KILL_SWITCH)
        account_raw, positions_raw, reserved_raw, halt, kill = await pipe.execute()
    return Snapshot(
        account=decode_account(account_raw, start_balance),
        positions={k.decode(): Position.model_validate_json(v) for k, v in positions_raw.items()},
        reservations={k.decode(): Order.model_validate_json(v) for k, v in reserved_raw.items()},
        halt_reason=_reason(halt),
        kill_reason=_reason(kill),
    )


# KEYS[1] the flag, KEYS[2] the events stream; ARGV[1] the flag's value (unused to clear), ARGV[2..4] the
# event entry's type, version and data. The event is added only when the flag really changed.
_SET_AND_TELL = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('XADD', KEYS[2], '*', 'type', ARGV[2], 'v', ARGV[3], 'data', ARGV[4])
  return 1
end
return 0
"""
_CLEAR_AND_TELL = """
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'type', ARGV[2], 'v', ARGV[3], 'data', ARGV[4])
  return 1
end
return 0
"""


def _flag_event(key: str, *, cleared: bool, reason: str) -> AccountEvent:
    """The kill switch (every book), or a book's halt (``tp:trading:<book>:halt``, its mode from the book)."""
    if key == KILL_SWITCH:
        kind: EventKind = "kill_switch_cleared" if cleared else "kill_switch"
        mode: Mode | None = None
    elif key.endswith(":halt"):
        kind = "halt_cleared" if cleared else "halt"
        mode = "paper" if key.split(":")[-2] == PAPER_BOOK else "live"
    else:
        raise ValueError(f"{key} is not a trading flag")
    return AccountEvent(kind=kind, mode=mode, severity="warning" if cleared else "critical", reason=reason[:500])


async def _change_flag(redis: Redis, script: str, key: str, value: bytes, event: AccountEvent) -> bool:
    entry = encode(event)
    args = (key, STREAM_EVENTS, value, entry["type"], entry["v"], entry["data"])
    changed = await redis.eval(script, 2, *args)  # type: ignore[arg-type, misc]
    return bool(changed)


async def set_flag(redis: Redis, key: str, reason: str) -> bool:
    """Latch a halt or the kill switch; True if it was not set before (the first reason is kept)."""
    event = _flag_event(key, cleared=False, reason=reason)
    value = orjson.dumps({"reason": reason, "at": event.created_at})
    return await _change_flag(redis, _SET_AND_TELL, key, value, event)


async def clear_flag(redis: Redis, key: str, reason: str = "operator reset") -> bool:
    return await _change_flag(redis, _CLEAR_AND_TELL, key, b"", _flag_event(key, cleared=True, reason=reason))


async def record_outcome(redis: Redis, signal_kind: str, won: bool) -> None:
    await redis.hincrby(OUTCOMES, f"{signal_kind}:{'wins' if won else 'losses'}", 1)  # type: ignore[misc]


async def read_outcomes(redis: Redis, signal_kind: str) -> tuple[int, int]:
    wins, losses = await redis.hmget(OUTCOMES, [f"{signal_kind}:wins", f"{signal_kind}:losses"])  # type: ignore[misc]
    return int(wins or 0), int(losses or 0)
