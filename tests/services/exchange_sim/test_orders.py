"""Orders through the unmodified ccxt client: market and limit entries, resting limits that fill when
the price path reaches them, open orders, cancels, history, fills with fees, reduce-only, close."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from devkit.sim_server import SimServer
from tests.services.exchange_sim.helpers import (
    BTC,
    DOGE,
    ETH,
    HOUR,
    extreme,
    first_reach,
    income,
    past,
    position,
    rounded,
    spec,
    wallet,
)

TAKER, MAKER = 0.0005, 0.0002


async def test_market_order_fills_opens_a_position_and_charges_a_fee(ex: ccxt.bingx) -> None:
    before = await wallet(ex)
    order = await ex.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "tp_test_1"})
    fetched = await ex.fetch_order(order["id"], BTC)
    assert fetched["status"] == "closed"
    assert fetched["filled"] == 0.01
    assert fetched["clientOrderId"] == "tp_test_1"
    fee = fetched["fee"]["cost"]
    assert fee == pytest.approx(0.01 * fetched["average"] * 0.0005, rel=1e-6)
    [position] = await ex.fetch_positions([BTC])
    assert position["side"] == "long" and position["contracts"] == 0.01
    assert await wallet(ex) == pytest.approx(before - fee, abs=1e-3)  # the wallet pays the fee only


async def test_closing_a_position_realises_pnl(ex: ccxt.bingx) -> None:
    await ex.create_order(BTC, "market", "buy", 0.02, None)
    await ex.create_order(BTC, "market", "sell", 0.02, None, {"reduceOnly": True})
    assert await ex.fetch_positions([BTC]) == []


async def test_limit_order_rests_then_cancels(ex: ccxt.bingx) -> None:
    order = await ex.create_order(BTC, "limit", "buy", 0.01, 1000.0)
    assert order["status"] == "open"
    assert (await ex.fetch_order(order["id"], BTC))["status"] == "open"
    cancelled = await ex.cancel_order(order["id"], BTC)
    assert cancelled["status"] == "canceled"


async def test_lookup_by_client_order_id(ex: ccxt.bingx) -> None:
    order = await ex.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "lookup_me"})
    found = await ex.fetch_order("None", BTC, {"clientOrderId": "lookup_me"})
    assert found["id"] == order["id"]
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order("None", BTC, {"clientOrderId": "never_sent"})


async def test_duplicate_client_order_id_is_refused(ex: ccxt.bingx) -> None:
    await ex.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "dup_1"})
    with pytest.raises(ccxt.DuplicateOrderId):
        await ex.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "dup_1"})
    assert len(await ex.fetch_positions([BTC])) == 1


async def test_insufficient_margin(ex: ccxt.bingx) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await ex.create_order(BTC, "market", "buy", 100, None)


async def test_a_resting_limit_fills_at_its_price_when_the_path_reaches_it(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(3, hour=2))
    btc = spec(sim, BTC)
    mark = sim.market.price_now(btc, t0)
    low = extreme(sim.market, btc, t0, t0 + 2 * HOUR, low=True)
    limit = rounded(mark - 0.6 * (mark - low), btc)  # below the book now, reached within two hours
    expected_at = first_reach(sim.market, btc, limit, "down", t0, t0 + 2 * HOUR)
    assert expected_at is not None

    order = await ex.create_order(BTC, "limit", "buy", 0.01, limit)
    assert order["status"] == "open" and await position(ex, BTC) is None
    sim.advance(2 * HOUR)

    filled = await ex.fetch_order(order["id"], BTC)
    assert filled["status"] == "closed" and filled["average"] == pytest.approx(limit, rel=1e-12)
    assert filled["fee"]["cost"] == pytest.approx(0.01 * limit * MAKER, rel=1e-6)
    [trade] = await ex.fetch_my_trades(BTC)
    assert trade["takerOrMaker"] == "maker"
    assert abs(trade["timestamp"] - expected_at) <= 100  # when the path got there, not when we asked
    held = await position(ex, BTC)
    assert held is not None and held["entryPrice"] == pytest.approx(limit) and held["contracts"] == 0.01


async def test_open_orders_cancel_one_and_cancel_all(ex: ccxt.bingx) -> None:
    btc_far, eth_far = 1_000.0, 100.0  # far below the market: they rest
    first = await ex.create_order(BTC, "limit", "buy", 0.01, btc_far)
    await ex.create_order(BTC, "limit", "buy", 0.02, btc_far)
    await ex.create_order(ETH, "limit", "buy", 0.1, eth_far)
    assert len(await ex.fetch_open_orders(BTC)) == 2
    assert len(await ex.fetch_open_orders()) == 3

    await ex.cancel_order(first["id"], BTC)
    assert [o["amount"] for o in await ex.fetch_open_orders(BTC)] == [0.02]
    cancelled = await ex.cancel_all_orders(BTC)
    assert [o["status"] for o in cancelled] == ["canceled"]
    assert [o["symbol"] for o in await ex.fetch_open_orders()] == [ETH]
    await ex.cancel_all_orders()
    assert await ex.fetch_open_orders() == []
    assert len(await ex.fetch_canceled_orders(BTC)) == 2
    with pytest.raises(ccxt.InvalidOrder):
        await ex.cancel_order(first["id"], BTC)  # already cancelled


async def test_order_history_and_fills_carry_fees_and_realised_pnl(ex: ccxt.bingx, sim: SimServer) -> None:
    t0 = sim.freeze(past(3, hour=5))
    start = await wallet(ex)
    await ex.create_order(BTC, "market", "buy", 0.02)
    sim.advance(HOUR)
    await ex.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    await ex.create_order(BTC, "limit", "buy", 0.01, 1_000.0)  # stays open: not in the history

    closed = await ex.fetch_closed_orders(BTC)
    assert [(o["side"], o["amount"]) for o in closed] == [("buy", 0.02), ("sell", 0.01)]
    trades = await ex.fetch_my_trades(BTC)
    assert [t["order"] for t in trades] == [o["id"] for o in closed]
    for trade in trades:
        assert trade["fee"]["cost"] == pytest.approx(trade["amount"] * trade["price"] * TAKER, rel=1e-6)
        assert trade["takerOrMaker"] == "taker" and t0 <= trade["timestamp"] <= t0 + HOUR
    buy, sell = trades
    pnl = (sell["price"] - buy["price"]) * 0.01
    assert float(sell["info"]["realisedPNL"]) == pytest.approx(pnl, abs=1e-6)
    fees = sum(t["fee"]["cost"] for t in trades)
    assert await wallet(ex) == pytest.approx(start - fees + pnl, abs=1e-6)
    rows = await income(ex)
    assert {r["incomeType"] for r in rows} == {"TRADING_FEE", "REALIZED_PNL"}
    assert sum(float(r["income"]) for r in rows) == pytest.approx(-fees + pnl, abs=1e-6)


async def test_reduce_only_never_grows_a_position(ex: ccxt.bingx) -> None:
    with pytest.raises(ccxt.InvalidOrder, match="No position to close"):
        await ex.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    await ex.create_order(BTC, "market", "buy", 0.01)
    with pytest.raises(ccxt.InvalidOrder, match="increase"):
        await ex.create_order(BTC, "market", "buy", 0.01, None, {"reduceOnly": True})
    order = await ex.create_order(BTC, "market", "sell", 0.05, None, {"reduceOnly": True})
    assert (await ex.fetch_order(order["id"], BTC))["filled"] == 0.01  # clipped to the position
    assert await ex.fetch_positions([BTC]) == []  # closed, not flipped short


async def test_a_plain_order_against_a_position_nets_and_can_flip_it(ex: ccxt.bingx) -> None:
    await ex.create_order(BTC, "market", "buy", 0.01)
    await ex.create_order(BTC, "market", "sell", 0.03)
    held = await position(ex, BTC)
    assert held is not None and held["side"] == "short" and held["contracts"] == pytest.approx(0.02)


async def test_close_position_closes_it_whole(ex: ccxt.bingx) -> None:
    await ex.create_order(BTC, "market", "buy", 0.01)
    await ex.create_order(BTC, "market", "buy", 0.02)
    await ex.close_position(BTC)
    assert await ex.fetch_positions([BTC]) == []
    [closer] = [o for o in await ex.fetch_closed_orders(BTC) if o["side"] == "sell"]
    assert closer["filled"] == pytest.approx(0.03)


async def test_orders_below_the_minimum_size_or_notional_are_refused(ex: ccxt.bingx, sim: SimServer) -> None:
    doge = spec(sim, DOGE)
    with pytest.raises(ccxt.InvalidOrder, match="minimum nominal value"):
        await ex.create_order(DOGE, "limit", "buy", 10, 0.1)  # 1 USDT of notional, under 2
    with pytest.raises(ccxt.InvalidOrder, match="minimum order amount"):
        await ex.swapV2PrivatePostTradeOrder(
            {"symbol": doge.exchange_id, "side": "BUY", "type": "MARKET", "positionSide": "BOTH",
             "quantity": 10 ** -(doge.quantity_decimals + 1)}
        )  # fmt: skip
    assert await ex.fetch_open_orders() == [] and await ex.fetch_positions() == []


async def test_post_only_that_would_take_is_refused_and_ioc_that_cannot_fill_is_cancelled(ex: ccxt.bingx) -> None:
    ask = (await ex.fetch_ticker(BTC))["ask"]
    with pytest.raises(ccxt.InvalidOrder, match="PostOnly"):
        await ex.create_order(BTC, "limit", "buy", 0.01, ask * 1.01, {"postOnly": True})
    ioc = await ex.create_order(BTC, "limit", "buy", 0.01, 1_000.0, {"timeInForce": "IOC"})
    assert (await ex.fetch_order(ioc["id"], BTC))["status"] == "canceled"
    assert await ex.fetch_positions([BTC]) == []


async def test_hedge_mode_holds_a_long_and_a_short_on_one_symbol(ex: ccxt.bingx) -> None:
    await ex.set_position_mode(True)
    await ex.create_order(BTC, "market", "buy", 0.01, None, {"hedged": True})  # opens LONG
    await ex.create_order(BTC, "market", "sell", 0.02, None, {"hedged": True})  # opens SHORT
    long, short = await position(ex, BTC, "long"), await position(ex, BTC, "short")
    assert long is not None and long["contracts"] == pytest.approx(0.01)
    assert short is not None and short["contracts"] == pytest.approx(0.02)

    # ccxt turns reduceOnly into the closing side: SELL on LONG, BUY on SHORT; a close is clipped
    await ex.create_order(BTC, "market", "sell", 0.05, None, {"hedged": True, "reduceOnly": True})
    assert await position(ex, BTC, "long") is None
    short = await position(ex, BTC, "short")
    assert short is not None and short["contracts"] == pytest.approx(0.02)
    with pytest.raises(ccxt.InvalidOrder, match="No position to close"):
        await ex.create_order(BTC, "market", "sell", 0.01, None, {"hedged": True, "reduceOnly": True})


async def test_cancel_several_by_id_and_close_one_position_by_its_id(ex: ccxt.bingx) -> None:
    first = await ex.create_order(BTC, "limit", "buy", 0.01, 1_000.0)
    second = await ex.create_order(BTC, "limit", "buy", 0.01, 1_100.0)
    kept = await ex.create_order(BTC, "limit", "buy", 0.01, 1_200.0)
    cancelled = await ex.cancel_orders([first["id"], second["id"]], BTC)
    assert sorted(o["id"] for o in cancelled) == sorted([first["id"], second["id"]])
    assert [o["id"] for o in await ex.fetch_open_orders(BTC)] == [kept["id"]]

    await ex.create_order(ETH, "market", "sell", 0.5)
    held = await position(ex, ETH)
    assert held is not None
    await ex.close_position(ETH, None, {"positionId": held["id"]})
    assert await position(ex, ETH) is None
