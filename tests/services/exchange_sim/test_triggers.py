"""Trigger orders fire on the mark price when the clock moves across their level, at that level and
at that instant, whether or not anybody asked meanwhile; attached stop-loss / take-profit become
reduce-only triggers; a position closed takes its protective orders with it. Both position modes."""

from __future__ import annotations

import ccxt.async_support as ccxt
import numpy as np
import pytest

from devkit.sim_server import SimServer
from tests.services.exchange_sim.helpers import (
    BTC,
    HOUR,
    extreme,
    first_reach,
    past,
    path,
    position,
    rounded,
    spec,
)

TAKER = 0.0005
HORIZON = 3 * HOUR


def _params(hedged: bool, **extra: object) -> dict[str, object]:
    return {"hedged": True, **extra} if hedged else dict(extra)


async def _open_long(ex: ccxt.bingx, hedged: bool, amount: float = 0.01) -> None:
    if hedged:
        await ex.set_position_mode(True)
    await ex.create_order(BTC, "market", "buy", amount, None, _params(hedged))


def _level(sim: SimServer, t0: int, direction: str, share: float = 0.6) -> tuple[float, int]:
    """A price the mark reaches within the horizon (``share`` of the way to its extreme), and when."""
    btc = spec(sim, BTC)
    mark = sim.market.price_now(btc, t0)
    far = extreme(sim.market, btc, t0, t0 + HORIZON, low=direction == "down")
    level = rounded(mark + share * (far - mark), btc)
    when = first_reach(sim.market, btc, level, direction, t0, t0 + HORIZON)
    assert when is not None and when > t0
    return level, when


@pytest.mark.parametrize("hedged", [False, True], ids=["one-way", "hedge"])
async def test_a_stop_market_fires_at_its_level_when_the_clock_crosses_it(
    ex: ccxt.bingx, sim: SimServer, hedged: bool
) -> None:
    t0 = sim.freeze(past(3, hour=1))
    await _open_long(ex, hedged)
    stop, when = _level(sim, t0, "down")
    order = await ex.create_order(
        BTC, "market", "sell", 0.01, None, _params(hedged, stopLossPrice=stop, reduceOnly=True)
    )
    assert order["type"] == "market" and order["stopLossPrice"] == stop
    assert (await ex.fetch_order(order["id"], BTC))["status"] == "open"

    sim.advance(HORIZON)  # the only call in between: the stop must fill at its own instant

    filled = await ex.fetch_order(order["id"], BTC)
    assert filled["status"] == "closed" and filled["average"] == stop
    assert filled["fee"]["cost"] == pytest.approx(0.01 * stop * TAKER, rel=1e-9)
    trade = (await ex.fetch_my_trades(BTC))[-1]
    assert abs(trade["timestamp"] - when) <= 100
    assert await ex.fetch_positions([BTC]) == []


async def test_a_stop_that_would_fire_at_once_is_refused(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(3, hour=1))
    await _open_long(ex, False)
    above = rounded(sim.market.price_now(spec(sim, BTC), t0) * 1.01, spec(sim, BTC))
    with pytest.raises(ccxt.InvalidOrder, match="trigger immediately"):
        await ex.create_order(BTC, "market", "sell", 0.01, None, {"stopLossPrice": above, "reduceOnly": True})


@pytest.mark.parametrize("hedged", [False, True], ids=["one-way", "hedge"])
async def test_a_take_profit_market_fires_at_its_level(ex: ccxt.bingx, sim: SimServer, hedged: bool) -> None:
    t0 = sim.freeze(past(4, hour=9))
    await _open_long(ex, hedged)
    target, when = _level(sim, t0, "up")
    params = _params(hedged, takeProfitPrice=target, reduceOnly=True)
    order = await ex.create_order(BTC, "market", "sell", 0.01, None, params)
    assert order["takeProfitPrice"] == target
    sim.advance(HORIZON)
    filled = await ex.fetch_order(order["id"], BTC)
    assert filled["status"] == "closed" and filled["average"] == target
    assert abs((await ex.fetch_my_trades(BTC))[-1]["timestamp"] - when) <= 100


async def test_a_trigger_market_entry_opens_the_position_at_its_level(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(5, hour=3))
    level, when = _level(sim, t0, "up")
    order = await ex.create_order(BTC, "market", "buy", 0.01, None, {"triggerPrice": level})
    assert order["triggerPrice"] == level and await position(ex, BTC) is None
    sim.advance(HORIZON)
    held = await position(ex, BTC)
    assert held is not None and held["entryPrice"] == level and held["side"] == "long"
    assert abs((await ex.fetch_my_trades(BTC))[-1]["timestamp"] - when) <= 100


async def test_a_trailing_stop_follows_the_high_and_fires_the_distance_below_it(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(3, hour=14))
    btc = spec(sim, BTC)
    await _open_long(ex, False)
    order = await ex.create_order(BTC, "market", "sell", 0.01, None, {"trailingPercent": 0.5, "reduceOnly": True})
    assert order["info"]["type"] == "TRAILING_STOP_MARKET"

    times, prices = path(sim.market, btc, t0, t0 + 6 * HOUR)
    peaks = np.maximum.accumulate(prices)
    hits = np.flatnonzero(prices <= peaks * (1 - 0.005))
    assert len(hits), "the oracle finds no 0.5 % pullback in six hours: pick another instant"
    expected_price, expected_at = peaks[hits[0]] * 0.995, int(times[hits[0]])

    sim.advance(6 * HOUR)
    filled = await ex.fetch_order(order["id"], BTC)
    assert filled["status"] == "closed"
    assert filled["average"] == pytest.approx(expected_price, rel=1e-9)
    assert abs((await ex.fetch_my_trades(BTC))[-1]["timestamp"] - expected_at) <= 100


@pytest.mark.parametrize("hedged", [False, True], ids=["one-way", "hedge"])
async def test_attached_stop_loss_and_take_profit_protect_the_entry(
    ex: ccxt.bingx, sim: SimServer, hedged: bool
) -> None:
    t0 = sim.freeze(past(3, hour=1))
    if hedged:
        await ex.set_position_mode(True)
    stop, stop_at = _level(sim, t0, "down")
    target, target_at = _level(sim, t0, "up")
    params = _params(hedged, stopLoss={"triggerPrice": stop}, takeProfit={"triggerPrice": target})
    entry = await ex.create_order(BTC, "market", "buy", 0.01, None, params)
    assert entry["stopLossPrice"] == stop and entry["takeProfitPrice"] == target

    protective = await ex.fetch_open_orders(BTC)
    assert sorted(o["info"]["type"] for o in protective) == ["STOP_MARKET", "TAKE_PROFIT_MARKET"]
    for order in protective:
        assert order["side"] == "sell" and order["amount"] == 0.01
        assert order["info"]["positionSide"] == ("LONG" if hedged else "BOTH")
        assert order["reduceOnly"] is (not hedged)  # in hedge mode SELL on LONG only closes
        assert order["info"]["triggerOrderId"] == entry["id"]

    first_at = min(stop_at, target_at)
    sim.advance(first_at - t0 + 1_000)  # just past the first of them: the other must go at once
    first_price = stop if stop_at < target_at else target
    history = {o["info"]["type"]: o for o in await ex.fetch_orders(BTC)}
    hit, other = ("STOP_MARKET", "TAKE_PROFIT_MARKET") if stop_at < target_at else ("TAKE_PROFIT_MARKET", "STOP_MARKET")
    assert history[hit]["status"] == "closed" and history[hit]["average"] == first_price
    assert history[other]["status"] == "canceled"  # the position is gone: its other guard with it
    assert history[other]["lastUpdateTimestamp"] == history[hit]["lastUpdateTimestamp"]
    assert await ex.fetch_positions([BTC]) == [] and await ex.fetch_open_orders() == []


async def test_protection_of_a_limit_entry_exists_only_once_it_fills(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(3, hour=2))
    btc = spec(sim, BTC)
    far = 1_000.0
    never = await ex.create_order(BTC, "limit", "buy", 0.01, far, {"stopLoss": {"triggerPrice": 900.0}})
    assert [o["id"] for o in await ex.fetch_open_orders(BTC)] == [never["id"]]
    await ex.cancel_order(never["id"], BTC)
    sim.advance(HOUR)
    assert await ex.fetch_open_orders(BTC) == []  # cancelled before filling: no stop appears

    mark = sim.market.price_now(btc, t0 + HOUR)
    low = extreme(sim.market, btc, t0 + HOUR, t0 + 3 * HOUR, low=True)
    limit = rounded(mark - 0.5 * (mark - low), btc)
    await ex.create_order(BTC, "limit", "buy", 0.01, limit, {"stopLoss": {"triggerPrice": rounded(limit * 0.9, btc)}})
    sim.advance(2 * HOUR)
    [stop] = [o for o in await ex.fetch_open_orders(BTC) if o["info"]["type"] == "STOP_MARKET"]
    assert stop["stopLossPrice"] == rounded(limit * 0.9, btc)


async def test_a_close_position_stop_closes_whatever_the_position_has_become(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(3, hour=1))
    await _open_long(ex, False)
    stop, _when = _level(sim, t0, "down")
    await ex.create_order(BTC, "market", "sell", None, None, {"stopLossPrice": stop, "closePosition": True})
    await ex.create_order(BTC, "market", "buy", 0.02)  # the position grows after the stop was placed
    sim.advance(HORIZON)
    assert await ex.fetch_positions([BTC]) == []
    closer = [o for o in await ex.fetch_closed_orders(BTC) if o["side"] == "sell"]
    assert [(o["filled"], o["average"]) for o in closer] == [(pytest.approx(0.03), stop)]


async def test_cancelling_all_takes_the_triggers_too(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(3, hour=1))
    await _open_long(ex, False)
    stop, _when = _level(sim, t0, "down")
    await ex.create_order(BTC, "market", "sell", 0.01, None, {"stopLossPrice": stop, "reduceOnly": True})
    await ex.cancel_all_orders(BTC)
    sim.advance(HORIZON)
    held = await position(ex, BTC)
    assert held is not None and held["contracts"] == 0.01  # nothing fired


async def test_a_stop_limit_becomes_a_limit_when_it_fires(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(3, hour=1))
    btc = spec(sim, BTC)
    await _open_long(ex, False)
    stop, when = _level(sim, t0, "down")
    floor = rounded(stop * 0.99, btc)  # sells at the stop's price or better, never below the floor
    order = await ex.create_order(BTC, "limit", "sell", 0.01, floor, {"stopLossPrice": stop, "reduceOnly": True})
    assert order["info"]["type"] == "STOP" and order["type"] == "limit"
    sim.advance(HORIZON)
    filled = await ex.fetch_order(order["id"], BTC)
    assert filled["status"] == "closed" and filled["average"] == pytest.approx(stop, rel=1e-9)
    trade = (await ex.fetch_my_trades(BTC))[-1]
    assert abs(trade["timestamp"] - when) <= 100 and trade["takerOrMaker"] == "taker"
