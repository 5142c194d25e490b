"""execution against a real Redis on the paper venue: checks before anything is sent, reservations,
idempotent orders, stops, halts, the kill switch, separate books, restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from services.execution.checks import Limits, Plan
from services.execution.ledger import Ledger
from services.execution.orders import open_order_id
from services.execution.paper import PaperVenue
from services.execution.protection import Protection, exit_reason
from services.execution.trader import Trader
from services.execution.venue import Fill
from shared.bus import Delivery, Publisher
from shared.contracts import AccountEvent, Decision, Execution
from shared.gateway import Candles, MarketRules, Quote
from shared.keys import KILL_SWITCH, PAPER_BOOK, STREAM_EVENTS, STREAM_EXECUTIONS, book_keys, live_book
from shared.messages import decode
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from shared.trading_state import clear_flag, read_outcomes, set_flag

DELIVERY = Delivery("stream:decisions", "execution", "1-0", 1)
BTC = "BTC/USDT:USDT"
PAPER = book_keys(PAPER_BOOK)


class Market:
    """A price table the test moves by hand, with one set of market rules and no candle history (the
    service uses the gateway; tests/services/execution/test_paper.py runs paper on the simulator's market)."""

    def __init__(self, rules: MarketRules | None = None, **prices: float) -> None:
        self.table = {k.replace("_", "/") + ":USDT": v for k, v in prices.items()}
        self.rules = rules or MarketRules(amount_step=1e-6, min_quantity=1e-6, min_notional=2.0)
        self.age_s = 0.0

    async def fresh_prices(self, symbols: Sequence[str], max_age_s: float) -> dict[str, Quote]:
        if self.age_s > max_age_s:
            return {}
        at = time.time() - self.age_s
        return {s: Quote(self.table[s], at, int(at * 1000)) for s in symbols if s in self.table}

    async def market_rules(self, symbol: str) -> MarketRules:
        return self.rules

    async def ohlcv(self, symbol: str, timeframe: str, limit: int) -> Candles:
        return ()

    async def funding_rate_history(self, symbol: str, since_ms: int, until_ms: int) -> list[tuple[int, float]]:
        return []


class CountingVenue(PaperVenue):
    """The paper venue, counting what reaches it: a refused decision must send nothing."""

    def __init__(self, market: Market, leverage: float) -> None:
        super().__init__(market, taker_fee=0.001, slippage_bps=10, leverage=leverage)
        self.sent: list[str] = []

    async def open(self, plan: Plan, client_order_id: str) -> Fill:
        self.sent.append(client_order_id)
        return await super().open(plan, client_order_id)


def decision(symbol: str = BTC, side: str | None = "long", qty: float = 0.1, **extra: object) -> Decision:
    entry = 100.0
    sl, tp = (90.0, 120.0) if side == "long" else (110.0, 80.0)
    values: dict[str, object] = {
        "analysis_id": "a1", "opportunity_id": "o1", "symbol": symbol, "action": "open", "side": side,
        "quantity": qty, "entry_price": entry, "stop_loss": sl, "take_profit": tp, "confidence": 0.7,
        "required_confidence": 0.55, "signal_kind": "trend_long", "reasons": ["test"],
    }  # fmt: skip
    values.update(extra)
    return Decision.model_validate(values)


def make_trader(redis: Redis, market: Market, limits: Limits | None = None, book: str = PAPER_BOOK) -> Trader:
    limits = limits or Limits(leverage=5)
    ledger = Ledger(redis, book_keys(book), start_balance=10_000, limits=limits)
    return Trader(ledger, CountingVenue(market, limits.leverage), market, Publisher(redis, maxlen=1000))


def sent(trader: Trader) -> list[str]:
    venue = trader.venue
    assert isinstance(venue, CountingVenue)
    return venue.sent


async def executions(redis: Redis) -> list[Execution]:
    return [decode(fields, Execution) for _, fields in await redis.xrange(STREAM_EXECUTIONS)]


async def test_paper_fill_with_slippage_and_fee(redis: Redis) -> None:
    trader = make_trader(redis, Market(BTC_USDT=100.0))
    await trader.on_decision(decision(qty=2.0), DELIVERY)
    snapshot = await trader.ledger.snapshot()
    position = snapshot.positions[BTC]
    assert position.entry_price == pytest.approx(100.1)  # 10 bps against us
    assert position.leverage == 5 and position.margin == pytest.approx(100.1 * 2 / 5)
    assert snapshot.account.cash == pytest.approx(10_000 - 100.1 * 2 * 0.001)
    assert snapshot.reservations == {}
    [event] = await executions(redis)
    assert (event.status, event.kind, event.mode) == ("filled", "open", "paper")
    assert event.client_order_id == open_order_id(event.decision_id)


async def test_duplicate_decision_trades_once(redis: Redis) -> None:
    trader = make_trader(redis, Market(BTC_USDT=100.0))
    same = decision()
    for _ in range(3):
        await trader.on_decision(same, DELIVERY)
    assert len(await trader.ledger.orders()) == 1
    assert len(await trader.ledger.trades()) == 1
    assert len(sent(trader)) == 1
    assert {e.message_id for e in await executions(redis)} == {open_order_id(same.message_id)}


@pytest.mark.parametrize(
    ("setup", "made", "why"),
    [
        ({}, {"created_at": time.time() - 3600}, "s old, older than the 120 s allowed"),
        ({"BTC_USDT": 89.0}, {}, "already at or below the stop-loss"),
        ({"BTC_USDT": 121.0}, {}, "already at or above the take-profit"),
        ({}, {"qty": 0.01}, "under the exchange's minimum"),
        ({"stale": True}, {}, "no market price fresh enough"),
        ({"kill": True}, {}, "kill switch on"),
        ({"halt": True}, {}, "trading halted until an operator resets it"),
    ],
)
async def test_a_refused_decision_sends_nothing(
    redis: Redis, setup: dict[str, object], made: dict[str, object], why: str
) -> None:
    market = Market(BTC_USDT=float(setup.get("BTC_USDT", 100.0)))  # type: ignore[arg-type]
    market.age_s = 60.0 if setup.get("stale") else 0.0
    trader = make_trader(redis, market, Limits(leverage=5, max_decision_age_s=120))
    if setup.get("kill"):
        await set_flag(redis, KILL_SWITCH, "operator")
    if setup.get("halt"):
        await set_flag(redis, PAPER.halt, "drawdown")
    await trader.on_decision(decision(**made), DELIVERY)  # type: ignore[arg-type]
    assert sent(trader) == []  # nothing reached the venue
    [event] = await executions(redis)
    assert event.status == "rejected" and why in event.reason, event.reason
    assert (await trader.ledger.snapshot()).positions == {}


async def test_size_is_rounded_down_and_clipped_to_the_symbol_cap(redis: Redis) -> None:
    market = Market(MarketRules(amount_step=0.01, min_notional=2.0), BTC_USDT=100.0)
    trader = make_trader(redis, market, Limits(leverage=5, max_symbol_exposure=0.1))  # 1,000 USDT per symbol
    await trader.on_decision(decision(qty=25.4567), DELIVERY)
    [order] = await trader.ledger.orders()
    assert order.status == "filled" and order.quantity == pytest.approx(10.0)  # clipped, never enlarged
    assert "per-symbol cap" in order.reason


async def test_second_position_on_same_symbol_is_refused(redis: Redis) -> None:
    trader = make_trader(redis, Market(BTC_USDT=100.0))
    await trader.on_decision(decision(), DELIVERY)
    await trader.on_decision(decision(), DELIVERY)
    assert sorted(o.status for o in await trader.ledger.orders()) == ["filled", "rejected"]
    assert (await executions(redis))[-1].reason == "position already open"
    assert len(sent(trader)) == 1


async def test_reject_decisions_are_not_traded(redis: Redis) -> None:
    trader = make_trader(redis, Market(BTC_USDT=100.0))
    rejected = decision(action="reject", side=None, quantity=0, stop_loss=None, take_profit=None)
    await trader.on_decision(rejected, DELIVERY)
    assert await trader.ledger.orders() == []


@pytest.mark.parametrize(
    ("side", "price", "expected"),
    [
        ("long", 89.0, "stop-loss"),
        ("long", 121.0, "take-profit"),
        ("long", 100.0, None),
        ("short", 111.0, "stop-loss"),
        ("short", 79.0, "take-profit"),
        ("short", 100.0, None),
    ],
)
async def test_exit_reason(redis: Redis, side: str, price: float, expected: str | None) -> None:
    trader = make_trader(redis, Market(BTC_USDT=100.0))
    await trader.on_decision(decision(side=side), DELIVERY)
    position = (await trader.ledger.snapshot()).positions[BTC]
    assert exit_reason(position, price) == expected


def protection(trader: Trader, *, equity_every_s: float = 0, halt_flatten: bool = False) -> Protection:
    return Protection(trader, interval_s=1, equity_every_s=equity_every_s, price_max_age_s=2, halt_flatten=halt_flatten)


async def test_protection_closes_at_take_profit_and_books_pnl(redis: Redis) -> None:
    market = Market(BTC_USDT=100.0)
    trader = make_trader(redis, market)
    await trader.on_decision(decision(qty=1.0), DELIVERY)
    guard = protection(trader)
    assert await guard.tick() == 0
    market.table[BTC] = 125.0
    assert await guard.tick() == 1
    snapshot = await trader.ledger.snapshot()
    assert snapshot.positions == {}
    close = (await trader.ledger.trades())[0]
    assert close.kind == "close" and close.reason == "take-profit"
    assert close.realized_pnl == pytest.approx(125 * 0.999 - 100.1)
    assert snapshot.account.realized_pnl == pytest.approx(close.realized_pnl)
    assert await read_outcomes(redis, "trend_long") == (1, 0)
    assert len(await trader.ledger.equity_curve()) == 2
    # The same two points go to the journal, as equity events with the account's figures.
    points = [decode(fields, AccountEvent) for _, fields in await redis.xrange(STREAM_EVENTS)]
    assert [p.kind for p in points] == ["equity", "equity"]
    assert points[-1].equity is not None and points[-1].equity.realized_pnl == pytest.approx(close.realized_pnl)
    assert points[-1].equity.open_positions == 0 and points[0].equity is not None
    assert points[0].equity.open_positions == 1


async def test_kill_switch_and_halt_changes_are_published_once(redis: Redis) -> None:
    assert await set_flag(redis, KILL_SWITCH, "operator")
    assert not await set_flag(redis, KILL_SWITCH, "operator again")
    assert await clear_flag(redis, KILL_SWITCH)
    assert not await clear_flag(redis, KILL_SWITCH)
    assert await set_flag(redis, book_keys(live_book("bingx", "abc")).halt, "drawdown 16 %")
    events = [decode(fields, AccountEvent) for _, fields in await redis.xrange(STREAM_EVENTS)]
    assert [(e.kind, e.reason, e.mode) for e in events] == [
        ("kill_switch", "operator", None),
        ("kill_switch_cleared", "operator reset", None),
        ("halt", "drawdown 16 %", "live"),
    ]


async def test_protection_alerts_on_a_position_it_cannot_price(redis: Redis) -> None:
    market = Market(BTC_USDT=100.0)
    trader = make_trader(redis, market)
    await trader.on_decision(decision(qty=1.0), DELIVERY)
    guard = protection(trader)
    market.age_s = 30.0  # the only price there is is 30 s old
    market.table[BTC] = 50.0  # far past the stop, but too old to act on
    await guard.tick()
    assert guard.unpriced == [BTC]
    assert await guard.ready() == f"no fresh price for open positions {BTC}"
    assert BTC in (await trader.ledger.snapshot()).positions  # no action on a stale price


async def test_protection_latches_the_drawdown_halt_and_can_flatten(redis: Redis) -> None:
    market = Market(BTC_USDT=100.0)
    trader = make_trader(redis, market, Limits(leverage=5, max_drawdown=0.05))
    await trader.on_decision(decision(qty=60.0, stop_loss=50.0), DELIVERY)
    market.table[BTC] = 90.0  # -600 on 10,000: a 6 % drawdown
    assert await protection(trader, halt_flatten=True).tick() == 1
    snapshot = await trader.ledger.snapshot()
    assert snapshot.halt_reason is not None and "drawdown" in snapshot.halt_reason
    assert snapshot.positions == {}
    await trader.on_decision(decision(symbol="ETH/USDT:USDT"), DELIVERY)  # new entries are refused
    assert "trading halted" in (await executions(redis))[-1].reason


async def test_state_survives_a_new_trader_instance(redis: Redis) -> None:
    """A restarted execution service finds its positions and refuses to re-trade old decisions."""
    first = make_trader(redis, Market(BTC_USDT=100.0))
    same = decision()
    await first.on_decision(same, DELIVERY)
    restarted = make_trader(redis, Market(BTC_USDT=100.0))
    assert list((await restarted.ledger.snapshot()).positions) == [BTC]
    await restarted.on_decision(same, DELIVERY)
    assert len(await restarted.ledger.orders()) == 1 and sent(restarted) == []


async def test_flatten_closes_everything(redis: Redis) -> None:
    trader = make_trader(redis, Market(BTC_USDT=100.0, ETH_USDT=100.0))
    await trader.on_decision(decision(), DELIVERY)
    await trader.on_decision(decision(symbol="ETH/USDT:USDT", side="short"), DELIVERY)
    assert await trader.flatten("kill switch") == 2
    assert (await trader.ledger.snapshot()).positions == {}


async def test_replicas_racing_on_one_decision_trade_once(redis: Redis, settings: ServiceSettings) -> None:
    others = [create_redis(settings) for _ in range(4)]
    traders = [make_trader(client, Market(BTC_USDT=100.0)) for client in others]
    same = decision()
    await asyncio.gather(*(t.on_decision(same, DELIVERY) for t in traders for _ in range(3)))
    assert len(await traders[0].ledger.orders()) == 1
    assert len(await traders[0].ledger.trades()) == 1
    assert sum(len(sent(t)) for t in traders) == 1  # one order reached the venue
    for client in others:
        await client.aclose()


async def test_caps_hold_for_decisions_made_in_parallel(redis: Redis) -> None:
    """ia2 decides on a snapshot that cannot see decisions still in flight; reservations count them."""
    market = Market(None, **{f"S{i}_USDT": 100.0 for i in range(6)})
    trader = make_trader(redis, market, Limits(leverage=5, max_open_positions=2))
    await asyncio.gather(
        *(trader.on_decision(decision(symbol=f"S{i}/USDT:USDT", qty=10.0), DELIVERY) for i in range(6))
    )
    assert len((await trader.ledger.snapshot()).positions) == 2
    refused = [o for o in await trader.ledger.orders() if o.status == "rejected"]
    assert len(refused) == 4 and all("the maximum is 2" in o.reason for o in refused)
    assert len(sent(trader)) == 2  # the refused ones never reached the venue


async def test_paper_and_live_books_do_not_see_each_other(redis: Redis) -> None:
    paper = make_trader(redis, Market(BTC_USDT=100.0))
    live = make_trader(redis, Market(BTC_USDT=100.0), book=live_book("bingx", "abc123"))
    await paper.on_decision(decision(), DELIVERY)
    assert list((await paper.ledger.snapshot()).positions) == [BTC]
    assert (await live.ledger.snapshot()).positions == {}  # the live book never counts a paper position
    await live.on_decision(decision(analysis_id="a2"), DELIVERY)
    assert len(await live.ledger.orders()) == 1 and len(await paper.ledger.orders()) == 1
