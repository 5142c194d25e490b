"""Liquidation at the price ``shared.perps`` gives: an isolated position loses exactly its margin, a
cross liquidation takes the cross collateral and leaves isolated positions alone; both show in the
order history, the liquidation list and the income history."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from devkit.sim_server import SimServer
from services.exchange_sim.market import SymbolSpec
from shared import perps
from tests.services.exchange_sim.helpers import (
    BTC,
    ETH,
    HOUR,
    MINUTE,
    first_reach,
    income,
    past,
    position,
    spec,
    wallet,
)

TAKER = 0.0005
START = 10_000.0
WINDOW = 8 * HOUR - 2 * MINUTE  # from just after one funding time to just before the next


def _ask(sim: SimServer, symbol_spec: SymbolSpec, t: int) -> float:
    return float(sim.market.ticker(symbol_spec, t)["ask"])  # what a market buy fills at


def _window(sim: SimServer, liquidation_at: object) -> tuple[int, float, int]:
    """The first instant just after a funding time (going back from 3 days) whose position, opened
    then, the path liquidates before the next funding time: (t0, liquidation price, when)."""
    btc = spec(sim, BTC)
    for days in range(3, 60):
        for hour in (16, 8, 0):
            t0 = past(days, hour=hour, minute=1, second=0)
            price = liquidation_at(t0)  # type: ignore[operator]
            when = first_reach(sim.market, btc, price, "down", t0, t0 + WINDOW)
            if when is not None:
                return t0, price, when
    raise AssertionError("no window liquidates the position: the market changed")


async def test_an_isolated_position_is_liquidated_at_the_formula_price(ex: ccxt.bingx, sim: SimServer) -> None:
    btc, amount, leverage = spec(sim, BTC), 0.1, 100

    def liquidation_at(t0: int) -> float:
        entry = _ask(sim, btc, t0)
        price = perps.liquidation_price([perps.Leg("long", amount, entry)], amount * entry / leverage, entry)
        assert price is not None
        return price

    t0, expected, when = _window(sim, liquidation_at)
    sim.freeze(t0)
    await ex.set_margin_mode("isolated", BTC)
    await ex.set_leverage(leverage, BTC, {"side": "BOTH"})
    await ex.create_order(BTC, "market", "buy", amount)
    held = await position(ex, BTC)
    assert held is not None and held["liquidationPrice"] == pytest.approx(expected, rel=1e-12)
    margin = held["initialMargin"]
    before = await wallet(ex)
    assert before == pytest.approx(START - amount * held["entryPrice"] * TAKER, abs=1e-6)

    sim.advance(WINDOW)

    assert await ex.fetch_positions([BTC]) == []
    [liquidation] = await ex.fetch_my_liquidations(BTC)
    assert liquidation["price"] == pytest.approx(expected, rel=1e-12) and liquidation["contracts"] == amount
    assert abs(liquidation["timestamp"] - when) <= 100
    [order] = [o for o in await ex.fetch_closed_orders(BTC) if o["info"]["autoCloseType"] == "LIQUIDATION"]
    assert order["side"] == "sell" and order["average"] == pytest.approx(expected, rel=1e-12)
    assert await wallet(ex) == pytest.approx(before - margin, abs=1e-6)  # the margin, exactly, is lost
    [clearance] = await income(ex, "INSURANCE_CLEAR")
    maintenance = perps.maintenance_margin(amount * expected)
    assert float(clearance["income"]) == pytest.approx(-maintenance, abs=1e-6)  # what was left is the fee


async def test_a_cross_liquidation_takes_the_cross_collateral_and_spares_isolated_positions(
    ex: ccxt.bingx, sim: SimServer
) -> None:
    btc, eth = spec(sim, BTC), spec(sim, ETH)
    btc_amount, btc_leverage = 0.8, 100

    def eth_amount(t0: int) -> float:
        return round(9_300 / _ask(sim, eth, t0), 2)  # 1x isolated: locks about 9,300 of the 10,000

    def liquidation_at(t0: int) -> float:
        btc_entry, eth_entry = _ask(sim, btc, t0), _ask(sim, eth, t0)
        eth_margin = eth_amount(t0) * eth_entry
        fees = (eth_amount(t0) * eth_entry + btc_amount * btc_entry) * TAKER
        collateral = START - fees - eth_margin
        price = perps.liquidation_price([perps.Leg("long", btc_amount, btc_entry)], collateral, btc_entry)
        assert price is not None
        return price

    t0, expected, when = _window(sim, liquidation_at)
    sim.freeze(t0)
    await ex.set_margin_mode("isolated", ETH)
    await ex.set_leverage(1, ETH, {"side": "BOTH"})
    await ex.set_leverage(btc_leverage, BTC, {"side": "BOTH"})
    await ex.create_order(ETH, "market", "buy", eth_amount(t0))
    await ex.create_order(BTC, "market", "buy", btc_amount)
    held, hedge = await position(ex, BTC), await position(ex, ETH)
    assert held is not None and hedge is not None
    assert held["marginMode"] == "cross" and hedge["marginMode"] == "isolated"
    assert held["liquidationPrice"] == pytest.approx(expected, rel=1e-12)
    eth_margin = hedge["initialMargin"]

    sim.advance(WINDOW)

    assert await position(ex, BTC) is None
    [liquidation] = await ex.fetch_my_liquidations(BTC)  # without a symbol ccxt cannot tell spot from swap
    assert liquidation["symbol"] == BTC and liquidation["price"] == pytest.approx(expected, rel=1e-12)
    assert abs(liquidation["timestamp"] - when) <= 100
    spared = await position(ex, ETH)
    assert spared is not None and spared["initialMargin"] == pytest.approx(eth_margin)
    assert await wallet(ex) == pytest.approx(eth_margin, abs=1e-6)  # the cross collateral is gone, no more
