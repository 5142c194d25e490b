"""Paper trading on the simulator's market: stops inside a candle, funding, liquidation, and parity with
live trading on the simulator (the same decisions end at the same equity, within what the fill models
are allowed to differ by).

The simulator's clock is frozen a few days back and moved by the test; after each move the caches are
dropped, since hours of market passed in an instant no TTL can see.
"""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest
from redis.asyncio import Redis

from devkit.sim_server import SimServer
from services.execution.checks import Limits
from services.execution.ledger import Ledger
from services.execution.paper import PaperVenue
from services.execution.protection import Protection
from services.execution.trader import Trader
from shared import perps
from shared.bus import Delivery, Publisher
from shared.contracts import AccountEvent, Decision
from shared.gateway import MarketDataGateway
from shared.keys import PAPER_BOOK, STREAM_EVENTS, book_keys
from shared.messages import decode
from tests.conftest import GatewayFactory
from tests.services.exchange_sim.helpers import (
    BTC,
    DOGE,
    ETH,
    HOUR,
    MINUTE,
    extreme,
    first_reach,
    past,
    path,
    rounded,
    spec,
)
from tests.services.execution.test_live import start_live

DELIVERY = Delivery("stream:decisions", "execution", "1-0", 1)
TAKER = 0.0005


def paper_trader(
    gateway: MarketDataGateway, redis: Redis, *, leverage: int = 3, slippage_bps: float = 0.0, book: str = PAPER_BOOK
) -> tuple[Trader, Protection]:
    limits = Limits(leverage=leverage)
    ledger = Ledger(redis, book_keys(book), start_balance=10_000, limits=limits)
    venue = PaperVenue(gateway, taker_fee=TAKER, slippage_bps=slippage_bps, leverage=leverage, price_max_age_s=5)
    trader = Trader(ledger, venue, gateway, Publisher(redis, maxlen=1000), price_max_age_s=5)
    return trader, Protection(trader, interval_s=1, equity_every_s=3600, price_max_age_s=5, halt_flatten=False)


async def advance(sim: SimServer, gateway: MarketDataGateway, ms: int) -> None:
    sim.advance(ms)
    await gateway.cache.invalidate()


def decision(symbol: str, side: str, price: float, quantity: float, stop: float, target: float) -> Decision:
    return Decision(
        analysis_id=f"a-{symbol}-{side}", opportunity_id="o1", symbol=symbol, action="open", side=side,
        quantity=quantity, entry_price=price, stop_loss=stop, take_profit=target, confidence=0.8,
        required_confidence=0.55, reasons=["test"],
    )  # fmt: skip


async def test_a_wick_between_two_checks_fires_the_paper_stop_at_its_level(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer
) -> None:
    t0 = sim.freeze(past(3, hour=2))
    gateway = make_gateway()
    trader, guard = paper_trader(gateway, redis)
    btc = spec(sim, BTC)
    price = sim.market.price_now(btc, t0)
    low = extreme(sim.market, btc, t0 + MINUTE, t0 + 6 * HOUR, low=True)
    stop = rounded(price - 0.7 * (price - low), btc)
    await trader.on_decision(decision(BTC, "long", price, 0.01, stop, price * 2), DELIVERY)
    when = first_reach(sim.market, btc, stop, "down", t0 + MINUTE, t0 + 6 * HOUR)
    assert when is not None
    await advance(sim, gateway, 6 * HOUR)  # one check, hours later: the price may well be back above
    assert await guard.tick() == 1
    close = (await trader.ledger.trades())[0]
    minute_open = float(path(sim.market, btc, when // MINUTE * MINUTE, when // MINUTE * MINUTE)[1][0])
    assert close.reason == "stop-loss" and close.price == pytest.approx(min(stop, minute_open))
    assert close.fee == pytest.approx(0.01 * close.price * TAKER)
    assert close.at == pytest.approx(when // MINUTE * MINUTE / 1000)  # booked at the market's time


async def test_paper_funding_is_charged_at_the_published_rate_across_a_funding_time(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx
) -> None:
    t0 = sim.freeze(past(3, hour=7, minute=50))
    gateway = make_gateway()
    trader, guard = paper_trader(gateway, redis)
    price = sim.market.price_now(spec(sim, BTC), t0)
    await trader.on_decision(decision(BTC, "long", price, 0.02, price * 0.5, price * 2), DELIVERY)
    await advance(sim, gateway, 20 * MINUTE)
    await guard.tick()
    funding_time = t0 // (8 * HOUR) * (8 * HOUR) + 8 * HOUR
    [published] = await ex.fetch_funding_rate_history(BTC, funding_time, 1)
    mark = float(path(sim.market, spec(sim, BTC), funding_time, funding_time)[1][0])
    expected = perps.funding_payment("long", 0.02, mark, published["fundingRate"])
    snapshot = await trader.ledger.snapshot()
    assert snapshot.positions[BTC].funding == pytest.approx(expected)
    assert snapshot.account.funding == pytest.approx(expected)
    await guard.tick()  # charged once
    assert (await trader.ledger.snapshot()).account.funding == pytest.approx(expected)
    [event] = [decode(f, AccountEvent) for _, f in await redis.xrange(STREAM_EVENTS) if b"funding" in f[b"data"]]
    assert event.kind == "funding" and event.amount == pytest.approx(expected) and event.symbol == BTC


async def test_an_isolated_paper_position_is_liquidated_where_the_formula_says_and_loses_its_margin(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer
) -> None:
    t0 = sim.freeze(past(3, hour=2))
    gateway = make_gateway()
    trader, guard = paper_trader(gateway, redis, leverage=50)
    btc = spec(sim, BTC)
    price = sim.market.price_now(btc, t0)
    quantity = 2_000 / price
    await trader.on_decision(decision(BTC, "long", price, quantity, price * 0.5, price * 2), DELIVERY)
    position = (await trader.ledger.snapshot()).positions[BTC]
    expected = perps.liquidation_price([perps.Leg("long", quantity, position.entry_price)], position.margin, price)
    assert expected is not None and position.liquidation_price == pytest.approx(expected)
    when = first_reach(sim.market, btc, expected, "down", t0 + MINUTE, t0 + 72 * HOUR)
    assert when is not None, "the market never reaches the liquidation price in this window"
    cash_before = (await trader.ledger.snapshot()).account.cash
    await advance(sim, gateway, when - t0 + 2 * MINUTE)
    await guard.tick()
    close = (await trader.ledger.trades())[0]
    assert close.reason == "liquidation" and close.price == pytest.approx(expected)
    funding = (await trader.ledger.snapshot()).account.funding
    assert (await trader.ledger.snapshot()).account.cash == pytest.approx(cash_before - position.margin + funding)


async def test_paper_and_live_end_at_the_same_equity(
    make_gateway: GatewayFactory, redis: Redis, sim: SimServer, ex: ccxt.bingx
) -> None:
    """The same decisions through paper (on the simulator's prices) and live (on the simulator): a stop,
    a take-profit and a position held across a funding time. Fees, funding, trigger fills and marks are
    one model (shared/perps.py); the one allowed difference is the entry and exit fills at the market:
    paper fills at the last price with PAPER_SLIPPAGE_BPS against it, the exchange at its bid or ask
    (half its spread away). The tolerance is that difference, summed over the market fills, plus a tick's
    worth on funding (paper reads the mark from candles published at the tick size)."""
    t0 = sim.freeze(past(3, hour=5))
    live = await start_live(make_gateway, redis, ex)
    gateway = make_gateway()
    paper, guard = paper_trader(gateway, redis, slippage_bps=4.0, book="paper-parity")
    horizon = 6 * HOUR
    decisions, market_fills = [], 0.0
    for symbol, side in ((BTC, "long"), (ETH, "short"), (DOGE, "long")):
        s = spec(sim, symbol)
        price = sim.market.price_now(s, t0)
        low = extreme(sim.market, s, t0 + MINUTE, t0 + horizon, low=True)
        if symbol == BTC:  # a stop that fires
            stop, target = rounded(price - 0.6 * (price - low), s), price * 3
        elif symbol == ETH:  # a take-profit that fires
            stop, target = price * 3, rounded(price - 0.6 * (price - low), s)
        else:  # held across the 08:00 funding
            stop, target = price * 0.3, price * 3
        quantity = round(1_500 / price, s.quantity_decimals)
        decisions.append(decision(symbol, side, price, quantity, stop, target))
        market_fills += 2 * quantity * price * abs(s.spread_bps / 2 - 4.0) / 10_000  # entry and exit
    for made in decisions:
        await live.trader.on_decision(made, DELIVERY)
        await paper.on_decision(made, DELIVERY)
    await advance(sim, gateway, horizon)
    await live.gateway.cache.invalidate()
    await live.reconciler.reconcile()
    await guard.tick()

    live_state, paper_state = await live.ledger.snapshot(), await paper.ledger.snapshot()
    assert sorted(live_state.positions) == sorted(paper_state.positions) == [DOGE]
    for trader in (live.trader, paper):
        closes = sorted(t.reason for t in await trader.ledger.trades() if t.kind == "close")
        assert closes == ["stop-loss", "take-profit"], closes
    # Paper takes the mark of a funding time from that minute's candle, published at the tick size; the
    # exchange uses its unrounded mark: a relative difference of the order of a tick.
    assert paper_state.account.funding == pytest.approx(live_state.account.funding, rel=1e-4)
    print(f"parity: paper {paper_state.equity:.4f} live {live_state.equity:.4f} tolerance {market_fills + 0.01:.4f}")
    assert paper_state.equity == pytest.approx(live_state.equity, abs=market_fills + 0.01)
