"""Live trading through the real ccxt client against the simulator, in both position modes.

The simulator's clock is frozen a few days back and moved by the test, so every stop, funding and
liquidation happens where and when the market says, never by luck.
"""

from __future__ import annotations

from dataclasses import dataclass

import ccxt.async_support as ccxt
import pytest
from redis.asyncio import Redis

from devkit.sim_server import SimServer
from services.execution.checks import Limits
from services.execution.ledger import Ledger
from services.execution.live import LiveVenue
from services.execution.reconcile import Reconciler
from services.execution.trader import Trader
from shared import perps
from shared.bus import Delivery, Publisher
from shared.contracts import AccountEvent, Decision, Execution
from shared.gateway import MarketDataGateway
from shared.keys import STREAM_EVENTS, STREAM_EXECUTIONS, book_keys, live_book
from shared.messages import decode
from shared.trading_state import MarginMode
from tests.conftest import GatewayFactory
from tests.services.exchange_sim.helpers import BTC, ETH, HOUR, extreme, first_reach, past, rounded, spec

DELIVERY = Delivery("stream:decisions", "execution", "1-0", 1)
ORDER_PATH = "/openApi/swap/v2/trade/order"


@dataclass
class Live:
    trader: Trader
    venue: LiveVenue
    reconciler: Reconciler
    gateway: MarketDataGateway
    ex: ccxt.bingx  # the same account, by hand

    @property
    def ledger(self) -> Ledger:
        return self.trader.ledger


async def start_live(
    make_gateway: GatewayFactory,
    redis: Redis,
    ex: ccxt.bingx,
    *,
    hedged: bool = False,
    leverage: int = 3,
    margin_mode: MarginMode = "isolated",
    limits: Limits | None = None,
) -> Live:
    if hedged:
        await ex.set_position_mode(True)
    gateway = make_gateway(exchange_read_deadline_s=30, price_max_age_s=2)
    keys = book_keys(live_book("bingx", gateway.account_id))
    venue = LiveVenue(gateway.account, redis, keys, leverage=leverage, margin_mode=margin_mode)
    await venue.start()
    wallet = await gateway.account.wallet()
    ledger = Ledger(redis, keys, start_balance=wallet.balance, limits=limits or Limits(leverage=leverage))
    trader = Trader(ledger, venue, gateway, Publisher(redis, maxlen=1000), price_max_age_s=5, margin_mode=margin_mode)
    reconciler = Reconciler(trader, venue, gateway.account, interval_s=60, adopt=(0.05, 0.1))
    return Live(trader, venue, reconciler, gateway, ex)


async def decision_at_market(live: Live, symbol: str = BTC, side: str = "long", notional: float = 600.0) -> Decision:
    price = (await live.gateway.fresh_prices([symbol], 5))[symbol].price
    sign = 1 if side == "long" else -1
    return Decision(
        analysis_id=f"a-{symbol}-{side}", opportunity_id="o1", symbol=symbol, action="open", side=side,
        quantity=notional / price, entry_price=price, stop_loss=price * (1 - sign * 0.02),
        take_profit=price * (1 + sign * 0.04), confidence=0.8, required_confidence=0.55, reasons=["test"],
    )  # fmt: skip


async def executions(redis: Redis) -> list[Execution]:
    return [decode(fields, Execution) for _, fields in await redis.xrange(STREAM_EXECUTIONS)]


def order_posts(sim: SimServer) -> int:
    return int(sim.admin("GET", "/stats")["requests"].get(ORDER_PATH, 0))


@pytest.mark.parametrize("hedged", [False, True], ids=["one-way", "hedge"])
async def test_an_entry_rests_protected_on_the_exchange_with_its_leverage_and_margin_mode(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx, hedged: bool
) -> None:
    sim.freeze(past(3, hour=2))
    live = await start_live(make_gateway, redis, ex, hedged=hedged, leverage=4)
    made = await decision_at_market(live)
    await live.trader.on_decision(made, DELIVERY)

    [event] = await executions(redis)
    assert (event.status, event.mode) == ("filled", "live"), event.reason
    [held] = await ex.fetch_positions([BTC])
    assert held["side"] == "long" and held["contracts"] == pytest.approx(event.quantity)
    assert held["marginMode"] == "isolated" and held["leverage"] == 4
    position = (await live.ledger.snapshot()).positions[BTC]
    assert position.stop_order_id and position.take_profit_order_id
    resting = {o["id"]: o for o in await ex.fetch_open_orders(BTC)}
    stop, target = resting[position.stop_order_id], resting[position.take_profit_order_id]
    assert (stop["reduceOnly"] and target["reduceOnly"]) or hedged  # hedge mode closes by position side
    assert stop["stopLossPrice"] == pytest.approx(made.stop_loss, rel=1e-3)
    assert target["takeProfitPrice"] == pytest.approx(made.take_profit, rel=1e-3)
    if hedged:
        assert {o["info"]["positionSide"] for o in resting.values()} == {"LONG"}


async def test_a_refused_decision_sends_no_order_at_all(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx
) -> None:
    sim.freeze(past(3, hour=2))
    live = await start_live(make_gateway, redis, ex, limits=Limits(leverage=3, max_open_positions=1))
    await live.trader.on_decision(await decision_at_market(live, BTC), DELIVERY)
    before = order_posts(sim)
    await live.trader.on_decision(await decision_at_market(live, ETH), DELIVERY)  # over the cap of 1
    assert order_posts(sim) == before  # nothing was sent
    refused = (await executions(redis))[-1]
    assert refused.status == "rejected" and "the maximum is 1" in refused.reason
    assert [p["symbol"] for p in await ex.fetch_positions()] == [BTC]


async def test_a_margin_mode_the_exchange_refuses_is_a_clear_error_and_no_order(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx
) -> None:
    sim.freeze(past(3, hour=2))
    await ex.set_margin_mode("cross", ETH)
    await ex.create_order(ETH, "market", "buy", 0.5)  # opened by hand: the margin mode cannot change now
    live = await start_live(make_gateway, redis, ex, margin_mode="isolated")
    before = order_posts(sim)
    await live.trader.on_decision(await decision_at_market(live, ETH), DELIVERY)
    refused = (await executions(redis))[-1]
    assert refused.status == "rejected"
    assert "not traded: the exchange refused 3x isolated margin" in refused.reason
    assert order_posts(sim) == before


@pytest.mark.parametrize("hedged", [False, True], ids=["one-way", "hedge"])
async def test_a_stop_that_fires_while_nobody_watches_is_booked_by_reconciliation(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx, hedged: bool
) -> None:
    t0 = sim.freeze(past(3, hour=2))
    live = await start_live(make_gateway, redis, ex, hedged=hedged)
    btc = spec(sim, BTC)
    low = extreme(sim.market, btc, t0, t0 + 6 * HOUR, low=True)
    made = await decision_at_market(live)
    stop = rounded(made.entry_price - 0.6 * (made.entry_price - low), btc)
    made = made.model_copy(update={"stop_loss": stop, "take_profit": made.entry_price * 1.5})
    await live.trader.on_decision(made, DELIVERY)
    assert (await executions(redis))[-1].status == "filled"

    sim.advance(6 * HOUR)  # execution is not running: only the exchange-side stop can act
    assert await ex.fetch_positions([BTC]) == []
    await live.reconciler.reconcile()

    snapshot = await live.ledger.snapshot()
    assert snapshot.positions == {}
    close = (await live.ledger.trades())[0]
    assert close.kind == "close" and close.reason == "stop-loss"
    assert close.price == pytest.approx(stop)  # the exchange's fill, at its level
    assert close.fee == pytest.approx(close.quantity * stop * 0.0005, rel=1e-6)
    wallet = await live.gateway.account.wallet()
    assert snapshot.account.cash == pytest.approx(wallet.balance)  # the ledger agrees with the exchange
    assert [f["kind"] for f in await live.ledger.discrepancies()] == ["closed_on_exchange"]
    [event] = [decode(f, AccountEvent) for _, f in await redis.xrange(STREAM_EVENTS)]
    assert event.kind == "reconciliation" and event.discrepancy and event.discrepancy.subject == "closed_on_exchange"


async def test_a_position_and_an_order_placed_by_hand_are_adopted_and_flagged(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx
) -> None:
    t0 = sim.freeze(past(3, hour=2))
    live = await start_live(make_gateway, redis, ex)
    await ex.create_order(ETH, "market", "sell", 0.4)  # a short nobody told the ledger about
    far = rounded(sim.market.price_now(spec(sim, BTC), t0) * 0.5, spec(sim, BTC))
    manual = await ex.create_order(BTC, "limit", "buy", 0.01, far)  # a resting entry placed by hand
    await live.reconciler.reconcile()

    adopted = (await live.ledger.snapshot()).positions[ETH]
    assert adopted.origin == "adopted" and adopted.side == "short" and adopted.quantity == pytest.approx(0.4)
    assert adopted.stop_order_id and adopted.take_profit_order_id  # protected on the exchange
    kinds = sorted(f["kind"] for f in await live.ledger.discrepancies())
    assert kinds == ["unknown_order", "unknown_position_adopted"]
    assert any(o["id"] == manual["id"] for o in await ex.fetch_open_orders(BTC))  # flagged, not cancelled
    await live.reconciler.reconcile()  # a second round finds nothing new
    assert len(await live.ledger.discrepancies()) == 2


async def test_funding_across_a_funding_time_reaches_the_ledger(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx
) -> None:
    sim.freeze(past(3, hour=7, minute=50))  # ten minutes before the 08:00 funding
    live = await start_live(make_gateway, redis, ex)
    made = await decision_at_market(live)
    made = made.model_copy(update={"stop_loss": made.entry_price * 0.5, "take_profit": made.entry_price * 2})
    await live.trader.on_decision(made, DELIVERY)
    sim.advance(20 * 60_000)
    await live.reconciler.reconcile()
    position = (await live.ledger.snapshot()).positions[BTC]
    paid = await live.venue.funding(position)
    assert paid is not None and paid != 0.0
    assert position.funding == pytest.approx(paid)  # booked on the position
    assert (await live.ledger.snapshot()).account.cash == pytest.approx((await live.gateway.account.wallet()).balance)


async def test_a_liquidation_happens_where_the_formula_says_and_is_booked(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx
) -> None:
    t0 = sim.freeze(past(3, hour=2))
    btc = spec(sim, BTC)
    live = await start_live(make_gateway, redis, ex, leverage=50)
    made = await decision_at_market(live, notional=2_000.0)
    made = made.model_copy(update={"stop_loss": made.entry_price * 0.5, "take_profit": made.entry_price * 2})
    await live.trader.on_decision(made, DELIVERY)
    [held] = await ex.fetch_positions([BTC])
    entry, quantity = held["entryPrice"], held["contracts"]
    expected = perps.liquidation_price(
        [perps.Leg("long", quantity, entry)], perps.initial_margin(quantity, entry, 50), entry
    )
    assert expected is not None and held["liquidationPrice"] == pytest.approx(expected, rel=1e-6)
    when = first_reach(sim.market, btc, expected, "down", t0, t0 + 72 * HOUR)
    assert when is not None, "the market never reaches the liquidation price in this window"
    sim.advance(when - t0 + 60_000)
    await live.reconciler.reconcile()
    close = (await live.ledger.trades())[0]
    assert close.reason == "liquidation" and close.price == pytest.approx(expected, rel=1e-6)
