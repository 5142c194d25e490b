"""Position mode, leverage and margin mode through ccxt: read, set, and refused when BingX refuses."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from tests.services.exchange_sim.helpers import BTC, ETH, position


async def test_position_mode_is_set_and_read_and_refused_while_positions_or_orders_exist(ex: ccxt.bingx) -> None:
    assert (await ex.fetch_position_mode(BTC))["hedged"] is False
    await ex.set_position_mode(True)
    assert (await ex.fetch_position_mode(BTC))["hedged"] is True
    await ex.set_position_mode(False)
    assert (await ex.fetch_position_mode())["hedged"] is False

    await ex.create_order(BTC, "market", "buy", 0.01)
    with pytest.raises(ccxt.BadRequest, match="position mode cannot be changed"):
        await ex.set_position_mode(True)
    await ex.close_position(BTC)
    resting = await ex.create_order(ETH, "limit", "buy", 0.1, 100.0)
    with pytest.raises(ccxt.BadRequest, match="position mode cannot be changed"):
        await ex.set_position_mode(True)
    await ex.cancel_order(resting["id"], ETH)
    await ex.set_position_mode(True)
    assert (await ex.fetch_position_mode())["hedged"] is True


async def test_hedge_mode_refuses_both_and_one_way_refuses_a_side(ex: ccxt.bingx) -> None:
    with pytest.raises(ccxt.BadRequest, match="One-way mode, the 'PositionSide' field can only be set to BOTH"):
        await ex.create_order(BTC, "market", "buy", 0.01, None, {"positionSide": "LONG"})
    await ex.set_position_mode(True)
    with pytest.raises(ccxt.BadRequest, match="Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT"):
        await ex.create_order(BTC, "market", "buy", 0.01)  # ccxt sends BOTH unless told hedged
    with pytest.raises(ccxt.BadRequest, match="Hedge mode"):
        await ex.set_leverage(10, BTC, {"side": "BOTH"})
    assert await ex.fetch_positions() == [] and await ex.fetch_open_orders() == []  # nothing was placed


async def test_leverage_is_per_symbol_and_side_and_used_by_the_position(ex: ccxt.bingx) -> None:
    await ex.set_leverage(20, BTC, {"side": "BOTH"})
    leverage = await ex.fetch_leverage(BTC)
    assert (leverage["longLeverage"], leverage["shortLeverage"]) == (20, 20)
    assert (await ex.fetch_leverage(ETH))["longLeverage"] == 5  # the default, per symbol
    with pytest.raises(ccxt.BadRequest, match="One-way mode"):
        await ex.set_leverage(10, BTC, {"side": "LONG"})

    await ex.set_position_mode(True)
    await ex.set_leverage(10, BTC, {"side": "LONG"})
    await ex.set_leverage(3, BTC, {"side": "SHORT"})
    leverage = await ex.fetch_leverage(BTC)
    assert (leverage["longLeverage"], leverage["shortLeverage"]) == (10, 3)
    for bad in (0, 126):
        with pytest.raises(ccxt.BadRequest, match="between 1 and 125"):
            await ex.set_leverage(bad, BTC, {"side": "LONG"})

    await ex.create_order(BTC, "market", "buy", 0.01, None, {"hedged": True})
    await ex.create_order(BTC, "market", "sell", 0.01, None, {"hedged": True})
    long, short = await position(ex, BTC, "long"), await position(ex, BTC, "short")
    assert long is not None and short is not None
    assert long["leverage"] == 10 and long["initialMargin"] == pytest.approx(0.01 * long["entryPrice"] / 10)
    assert short["leverage"] == 3 and short["initialMargin"] == pytest.approx(0.01 * short["entryPrice"] / 3)


async def test_leverage_too_high_for_the_position_size_is_refused(ex: ccxt.bingx) -> None:
    await ex.set_leverage(10, BTC, {"side": "BOTH"})
    await ex.create_order(BTC, "market", "buy", 0.9)  # about 54k USDT: more than 125x allows (50k)
    with pytest.raises(ccxt.BadRequest, match="too high"):
        await ex.set_leverage(125, BTC, {"side": "BOTH"})
    assert (await ex.fetch_leverage(BTC))["longLeverage"] == 10
    with pytest.raises(ccxt.InvalidOrder, match="lower the leverage"):
        await ex.set_leverage(100, ETH, {"side": "BOTH"})
        await ex.create_order(ETH, "market", "buy", 100)  # 300k USDT at 100x: over its 250k


async def test_margin_mode_is_set_read_and_carried_by_the_position(ex: ccxt.bingx) -> None:
    assert (await ex.fetch_margin_mode(BTC))["marginMode"] == "cross"
    await ex.set_margin_mode("isolated", BTC)
    assert (await ex.fetch_margin_mode(BTC))["marginMode"] == "isolated"
    assert (await ex.fetch_margin_mode(ETH))["marginMode"] == "cross"

    await ex.create_order(BTC, "market", "buy", 0.01)
    held = await position(ex, BTC)
    assert held is not None and held["marginMode"] == "isolated"
    assert held["initialMargin"] == pytest.approx(0.01 * held["entryPrice"] / 5)
    with pytest.raises(ccxt.BadRequest, match="margin mode of BTC-USDT cannot be changed"):
        await ex.set_margin_mode("cross", BTC)
    await ex.set_margin_mode("isolated", ETH)  # another symbol is free
    await ex.close_position(BTC)
    resting = await ex.create_order(BTC, "limit", "buy", 0.01, 1_000.0)
    with pytest.raises(ccxt.BadRequest, match="cannot be changed"):
        await ex.set_margin_mode("cross", BTC)
    await ex.cancel_order(resting["id"], BTC)
    await ex.set_margin_mode("cross", BTC)
    assert (await ex.fetch_margin_mode(BTC))["marginMode"] == "cross"


async def test_isolated_margin_can_be_added_and_removed(ex: ccxt.bingx) -> None:
    await ex.set_margin_mode("isolated", BTC)
    await ex.create_order(BTC, "market", "buy", 0.01)
    before = await position(ex, BTC)
    assert before is not None
    await ex.add_margin(BTC, 50)
    after = await position(ex, BTC)
    assert after is not None and after["initialMargin"] == pytest.approx(before["initialMargin"] + 50)
    assert after["liquidationPrice"] < before["liquidationPrice"]  # more margin: further away
    await ex.reduce_margin(BTC, 50)
    with pytest.raises(ccxt.BadRequest, match="below the initial margin"):
        await ex.reduce_margin(BTC, 1)


async def test_fees_and_maintenance_tiers_are_published(ex: ccxt.bingx) -> None:
    fee = await ex.fetch_trading_fee(BTC)
    assert (fee["maker"], fee["taker"]) == (0.0002, 0.0005)
    tiers = await ex.fetch_market_leverage_tiers(BTC)
    assert tiers[0]["maintenanceMarginRate"] == 0.004 and tiers[0]["maxNotional"] == 50_000
    assert [t["tier"] for t in tiers] == [1, 2, 3, 4, 5]
