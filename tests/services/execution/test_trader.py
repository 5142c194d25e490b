"""execution against a real Redis: paper fills, idempotent orders, SL/TP, kill switch, restarts."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from services.execution.brokers import PaperBroker
from services.execution.ledger import Ledger
from services.execution.orders import open_order_id
from services.execution.trader import PositionWatcher, Trader, exit_reason
from shared.bus import Delivery, Publisher
from shared.contracts import Decision, Execution
from shared.keys import KILL_SWITCH, STREAM_EXECUTIONS
from shared.messages import decode
from shared.trading_state import read_outcomes, set_flag

DELIVERY = Delivery("stream:decisions", "execution", "1-0", 1)


class Prices:
    """A price table the test moves by hand (the real service reads the shared price cache)."""

    def __init__(self, **prices: float) -> None:
        self.table = {k.replace("_", "/") + ":USDT": v for k, v in prices.items()}

    async def prices(self, symbols: Sequence[str]) -> dict[str, float]:
        return {s: self.table[s] for s in symbols if s in self.table}


def decision(symbol: str = "BTC/USDT:USDT", side: str | None = "long", qty: float = 0.1, **extra: object) -> Decision:
    entry = 100.0
    sl, tp = (90.0, 120.0) if side == "long" else (110.0, 80.0)
    values: dict[str, object] = {
        "analysis_id": "a1",
        "opportunity_id": "o1",
        "symbol": symbol,
        "action": "open",
        "side": side,
        "quantity": qty,
        "entry_price": entry,
        "stop_loss": sl,
        "take_profit": tp,
        "confidence": 0.7,
        "required_confidence": 0.55,
        "signal_kind": "trend_long",
        "reasons": ["test"],
    }
    values.update(extra)
    return Decision.model_validate(values)


def make_trader(redis: Redis, prices: Prices) -> Trader:
    ledger = Ledger(redis, start_balance=10_000)
    broker = PaperBroker(ledger, prices, fee_rate=0.001, slippage_bps=10)
    return Trader(ledger, broker, Publisher(redis, maxlen=1000))


async def executions(redis: Redis) -> list[Execution]:
    return [decode(fields, Execution) for _, fields in await redis.xrange(STREAM_EXECUTIONS)]


async def test_paper_fill_with_slippage_and_fee(redis: Redis) -> None:
    trader = make_trader(redis, Prices(BTC_USDT=100.0))
    await trader.on_decision(decision(qty=2.0), DELIVERY)
    snapshot = await trader.ledger.snapshot()
    position = snapshot.positions["BTC/USDT:USDT"]
    assert position.entry_price == pytest.approx(100.1)  # 10 bps against us
    assert snapshot.account.cash == pytest.approx(10_000 - 100.1 * 2 * 0.001)
    [event] = await executions(redis)
    assert (event.status, event.kind, event.mode) == ("filled", "open", "paper")
    assert event.client_order_id == open_order_id(event.decision_id)


async def test_duplicate_decision_trades_once(redis: Redis) -> None:
    trader = make_trader(redis, Prices(BTC_USDT=100.0))
    same = decision()
    for _ in range(3):
        await trader.on_decision(same, DELIVERY)
    assert len(await trader.ledger.orders()) == 1
    assert len(await trader.ledger.trades()) == 1
    assert {e.message_id for e in await executions(redis)} == {open_order_id(same.message_id)}


async def test_second_position_on_same_symbol_is_refused(redis: Redis) -> None:
    trader = make_trader(redis, Prices(BTC_USDT=100.0))
    await trader.on_decision(decision(), DELIVERY)
    await trader.on_decision(decision(), DELIVERY)
    statuses = sorted(o.status for o in await trader.ledger.orders())
    assert statuses == ["filled", "rejected"]
    assert (await executions(redis))[-1].reason == "position already open"


async def test_no_price_means_no_trade(redis: Redis) -> None:
    trader = make_trader(redis, Prices())
    await trader.on_decision(decision(), DELIVERY)
    assert (await trader.ledger.snapshot()).positions == {}
    assert (await executions(redis))[0].reason == "no market price"


async def test_kill_switch_refuses_new_orders(redis: Redis) -> None:
    trader = make_trader(redis, Prices(BTC_USDT=100.0))
    await set_flag(redis, KILL_SWITCH, "operator")
    await trader.on_decision(decision(), DELIVERY)
    assert (await trader.ledger.snapshot()).positions == {}
    [event] = await executions(redis)
    assert event.status == "rejected"
    assert "kill switch" in event.reason


async def test_reject_decisions_are_not_traded(redis: Redis) -> None:
    trader = make_trader(redis, Prices(BTC_USDT=100.0))
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
    trader = make_trader(redis, Prices(BTC_USDT=100.0))
    await trader.on_decision(decision(side=side), DELIVERY)
    position = (await trader.ledger.snapshot()).positions["BTC/USDT:USDT"]
    assert exit_reason(position, price) == expected


async def test_watcher_closes_at_take_profit_and_books_pnl(redis: Redis) -> None:
    prices = Prices(BTC_USDT=100.0)
    trader = make_trader(redis, prices)
    await trader.on_decision(decision(qty=1.0), DELIVERY)
    watcher = PositionWatcher(trader, prices, interval_s=1, equity_every_s=0)
    assert await watcher.tick() == 0
    prices.table["BTC/USDT:USDT"] = 125.0
    assert await watcher.tick() == 1
    snapshot = await trader.ledger.snapshot()
    assert snapshot.positions == {}
    close = (await trader.ledger.trades())[0]
    assert close.kind == "close" and close.reason == "take-profit"
    assert close.realized_pnl == pytest.approx(125 * 0.999 - 100.1)
    assert snapshot.account.realized_pnl == pytest.approx(close.realized_pnl)
    assert await read_outcomes(redis, "trend_long") == (1, 0)
    assert len(await trader.ledger.equity_curve()) == 2


async def test_watcher_tracks_peak_and_drawdown(redis: Redis) -> None:
    prices = Prices(BTC_USDT=100.0)
    trader = make_trader(redis, prices)
    await trader.on_decision(decision(qty=10.0), DELIVERY)
    watcher = PositionWatcher(trader, prices, interval_s=1, equity_every_s=3600)
    prices.table["BTC/USDT:USDT"] = 110.0
    await watcher.tick()
    peak = (await trader.ledger.snapshot()).account.peak_equity
    prices.table["BTC/USDT:USDT"] = 95.0
    await watcher.tick()
    snapshot = await trader.ledger.snapshot()
    assert snapshot.account.peak_equity == pytest.approx(peak)
    assert snapshot.drawdown == pytest.approx((peak - snapshot.equity) / peak)
    assert snapshot.drawdown > 0.01


async def test_state_survives_a_new_trader_instance(redis: Redis) -> None:
    """A restarted execution service finds its positions and refuses to re-trade old decisions."""
    first = make_trader(redis, Prices(BTC_USDT=100.0))
    same = decision()
    await first.on_decision(same, DELIVERY)
    restarted = make_trader(redis, Prices(BTC_USDT=100.0))
    assert list((await restarted.ledger.snapshot()).positions) == ["BTC/USDT:USDT"]
    await restarted.on_decision(same, DELIVERY)
    assert len(await restarted.ledger.orders()) == 1


async def test_flatten_closes_everything(redis: Redis) -> None:
    prices = Prices(BTC_USDT=100.0, ETH_USDT=100.0)
    trader = make_trader(redis, prices)
    await trader.on_decision(decision(), DELIVERY)
    await trader.on_decision(decision(symbol="ETH/USDT:USDT", side="short"), DELIVERY)
    assert await trader.flatten(prices, "kill switch") == 2
    assert (await trader.ledger.snapshot()).positions == {}


async def test_replicas_racing_on_one_decision_trade_once(redis: Redis, settings: object) -> None:
    import asyncio

    from shared.redis_client import create_redis

    others = [create_redis(settings) for _ in range(4)]  # type: ignore[arg-type]
    traders = [make_trader(client, Prices(BTC_USDT=100.0)) for client in others]
    same = decision()
    await asyncio.gather(*(t.on_decision(same, DELIVERY) for t in traders for _ in range(3)))
    assert len(await traders[0].ledger.orders()) == 1
    assert len(await traders[0].ledger.trades()) == 1
    for client in others:
        await client.aclose()


async def test_hard_caps_hold_for_decisions_made_in_parallel(redis: Redis) -> None:
    """ia2 decides on a snapshot that cannot see decisions still in flight; the fill re-checks the caps."""
    import asyncio

    from services.execution.ledger import HardLimits

    prices = Prices(**{f"S{i}_USDT": 100.0 for i in range(6)})
    ledger = Ledger(redis, start_balance=10_000, limits=HardLimits(max_open_positions=2, max_total_exposure=1.0))
    trader = Trader(ledger, PaperBroker(ledger, prices, fee_rate=0.0, slippage_bps=0), Publisher(redis, maxlen=1000))
    decisions = [decision(symbol=f"S{i}/USDT:USDT", qty=10.0) for i in range(6)]
    await asyncio.gather(*(trader.on_decision(d, DELIVERY) for d in decisions))
    assert len((await ledger.snapshot()).positions) == 2
    refused = [o for o in await ledger.orders() if o.status == "rejected"]
    assert len(refused) == 4 and "the maximum is 2" in refused[0].reason


async def test_total_exposure_cap_at_fill_time(redis: Redis) -> None:
    from services.execution.ledger import HardLimits

    prices = Prices(BTC_USDT=100.0, ETH_USDT=100.0)
    ledger = Ledger(redis, start_balance=10_000, limits=HardLimits(max_total_exposure=1.0))
    trader = Trader(ledger, PaperBroker(ledger, prices, fee_rate=0.0, slippage_bps=0), Publisher(redis, maxlen=1000))
    await trader.on_decision(decision(qty=60.0), DELIVERY)
    await trader.on_decision(decision(symbol="ETH/USDT:USDT", qty=60.0), DELIVERY)
    [refused] = [o for o in await ledger.orders() if o.status == "rejected"]
    assert "would exceed 100% of equity" in refused.reason
