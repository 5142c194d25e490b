"""The perpetual-futures model: fees, margins, liquidation, funding, and fills inside a candle."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared import perps
from shared.perps import Candle, Leg

HOUR = 3_600_000


def test_fee_and_initial_margin_are_on_notional() -> None:
    assert perps.fee(0.5, 60_000, 0.0005) == pytest.approx(15.0)
    assert perps.fee(-0.5, 60_000, 0.0002) == pytest.approx(6.0)  # a short's quantity is its size
    assert perps.initial_margin(0.5, 60_000, 10) == pytest.approx(3_000.0)


def test_maintenance_margin_is_tiered_and_continuous() -> None:
    tiers = perps.DEFAULT_TIERS
    assert perps.maintenance_margin(10_000) == pytest.approx(40.0)  # 0.4 % in the first tier
    for tier in tiers[:-1]:  # the amounts make MM continuous at every bound
        below = perps.maintenance_margin(tier.max_notional)
        above = perps.maintenance_margin(tier.max_notional * (1 + 1e-12))
        assert above == pytest.approx(below, rel=1e-9)
    assert perps.max_notional(125) == 50_000
    assert perps.max_notional(20) == 5_000_000
    assert perps.max_notional(126) == 0


def test_one_leg_liquidation_price_is_the_closed_form() -> None:
    q, entry, leverage = 0.01, 60_000.0, 10
    margin = perps.initial_margin(q, entry, leverage)
    long = perps.liquidation_price([Leg("long", q, entry)], margin, entry)
    short = perps.liquidation_price([Leg("short", q, entry)], margin, entry)
    assert long == pytest.approx((q * entry - margin) / (q * (1 - 0.004)))
    assert short == pytest.approx((q * entry + margin) / (q * (1 + 0.004)))
    assert perps.liquidation_price([Leg("long", q, entry)], q * entry, entry) is None  # 1x long: never


@given(
    side=st.sampled_from(["long", "short"]),
    quantity=st.floats(0.001, 100),
    entry=st.floats(0.01, 100_000),
    leverage=st.integers(1, 125),
    extra=st.floats(0, 1),
)
def test_liquidation_price_is_where_equity_meets_maintenance(
    side: perps.Side, quantity: float, entry: float, leverage: int, extra: float
) -> None:
    """Property: at the liquidation price, the position's equity (margin + PnL) equals its maintenance
    margin; a little on the safe side it is above, a little beyond it is below."""
    assume(quantity * entry <= perps.max_notional(leverage))  # larger positions are refused that leverage
    leg = Leg(side, quantity, entry)
    margin = perps.initial_margin(quantity, entry, leverage) * (1 + extra)
    price = perps.liquidation_price([leg], margin, entry)
    if price is None:
        assert side == "long" and margin >= quantity * entry * 0.99  # only a (nearly) unlevered long
        return
    equity = margin + perps.unrealised_pnl(leg, price)
    assert equity == pytest.approx(perps.maintenance_margin(quantity * price), rel=1e-6, abs=1e-9 * quantity * entry)
    safe, beyond = (price * 1.001, price * 0.999) if side == "long" else (price * 0.999, price * 1.001)
    assert perps.margin_surplus([leg], margin, safe) > 0
    assert perps.margin_surplus([leg], margin, beyond) < 0
    assert (price < entry) if side == "long" else (price > entry)


def test_liquidation_across_a_tier_bound_stays_exact() -> None:
    """A big short's notional at its liquidation price lands in a higher tier than at entry."""
    leg = Leg("short", 4.0, 60_000.0)  # 240k notional, tier 2 at entry
    margin = perps.initial_margin(4.0, 60_000.0, 5)
    price = perps.liquidation_price([leg], margin, 60_000.0)
    assert price is not None and price * 4 > 250_000  # tier 3 at the liquidation price
    assert perps.margin_surplus([leg], margin, price) == pytest.approx(0, abs=1e-6)


def test_a_hedged_pair_is_liquidated_only_by_what_the_net_loses() -> None:
    legs = [Leg("long", 1.0, 100.0), Leg("short", 0.5, 100.0)]
    price = perps.liquidation_price(legs, 10.0, 100.0)
    assert price is not None and price < 100  # net long: below
    assert perps.margin_surplus(legs, 10.0, price) == pytest.approx(0, abs=1e-9)


def test_funding_longs_pay_when_the_rate_is_positive() -> None:
    assert perps.funding_payment("long", 2, 100, 0.0001) == pytest.approx(-0.02)
    assert perps.funding_payment("short", 2, 100, 0.0001) == pytest.approx(0.02)
    assert perps.funding_payment("long", 2, 100, -0.0003) == pytest.approx(0.06)


def test_funding_times_every_eight_hours_utc() -> None:
    day = 1_767_225_600_000  # 2026-01-01 00:00 UTC
    assert perps.funding_times(day - 1, day + 16 * HOUR) == [day, day + 8 * HOUR, day + 16 * HOUR]
    assert perps.funding_times(day, day + 8 * HOUR - 1) == []  # the boundary itself is not after itself
    assert perps.next_funding_time(day) == day + 8 * HOUR
    assert perps.next_funding_time(day + 5 * HOUR) == day + 8 * HOUR


def test_a_level_inside_the_candle_fills_at_the_level_a_gap_at_the_open() -> None:
    candle = Candle(open=100, high=105, low=95, close=101)
    assert perps.touch_price(97, candle, "down") == 97
    assert perps.touch_price(104, candle, "up") == 104
    assert perps.touch_price(94, candle, "down") is None
    gapped = Candle(open=90, high=92, low=88, close=91)
    assert perps.touch_price(95, gapped, "down") == 90  # opened below the stop: filled at the open


def test_when_both_are_touched_the_stop_wins() -> None:
    candle = Candle(open=100, high=110, low=90, close=100)
    assert perps.exit_in_candle("long", candle, stop_loss=95, take_profit=105) == perps.Exit(95, "stop_loss")
    assert perps.exit_in_candle("short", candle, stop_loss=105, take_profit=95) == perps.Exit(105, "stop_loss")
    calm = Candle(open=100, high=106, low=99, close=104)
    assert perps.exit_in_candle("long", calm, stop_loss=95, take_profit=105) == perps.Exit(105, "take_profit")
    assert perps.exit_in_candle("long", calm, stop_loss=95, take_profit=None) is None
