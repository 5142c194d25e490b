"""Funding: charged exactly once per 8-hour boundary the clock crosses, at that instant's mark and
rate, visible in the income history and in the balance; the rate is announced before it is charged."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from devkit.sim_server import SimServer
from tests.services.exchange_sim.helpers import BTC, ETH, HOUR, MINUTE, income, past, spec, wallet


async def _rates(ex: ccxt.bingx, symbol: str, times: list[int]) -> dict[int, float]:
    history = await ex.fetch_funding_rate_history(symbol, since=times[0], limit=len(times))
    return {h["timestamp"]: h["fundingRate"] for h in history}


@pytest.mark.parametrize("hedged", [False, True], ids=["one-way", "hedge"])
async def test_funding_is_charged_once_per_boundary_crossed(ex: ccxt.bingx, sim: SimServer, hedged: bool) -> None:
    t0 = sim.freeze(past(3, hour=7, minute=59, second=30))
    first, second = t0 + 30_000, t0 + 30_000 + 8 * HOUR  # 08:00 and 16:00 UTC
    announced = await ex.fetch_funding_rate(BTC)
    assert announced["nextFundingTimestamp"] == first

    if hedged:  # a long and a short on one symbol: one pays, the other receives
        await ex.set_position_mode(True)
        legs = [(BTC, "long", 0.1), (BTC, "short", 0.05)]
        await ex.create_order(BTC, "market", "buy", 0.1, None, {"hedged": True})
        await ex.create_order(BTC, "market", "sell", 0.05, None, {"hedged": True})
    else:
        legs = [(BTC, "long", 0.1), (ETH, "short", 1.0)]
        await ex.create_order(BTC, "market", "buy", 0.1)
        await ex.create_order(ETH, "market", "sell", 1.0)
    after_fees = await wallet(ex)

    sim.advance(8 * HOUR + MINUTE)  # across 08:00 and 16:00

    expected = []
    for symbol, side, amount in legs:
        rates = await _rates(ex, symbol, [first, second])
        assert rates[first] == announced["fundingRate"] if symbol == BTC else True
        for t in (first, second):
            mark = sim.market.price_now(spec(sim, symbol), t)
            expected.append((symbol, t, (-1 if side == "long" else 1) * amount * mark * rates[t]))
    rows = await income(ex, "FUNDING_FEE")
    charged = sorted((r["symbol"], r["time"], float(r["income"])) for r in rows)
    want = sorted((spec(sim, s).exchange_id, t, a) for s, t, a in expected)
    assert [c[:2] for c in charged] == [w[:2] for w in want]
    assert [c[2] for c in charged] == pytest.approx([w[2] for w in want], abs=1e-7)
    assert await wallet(ex) == pytest.approx(after_fees + sum(a for _s, _t, a in expected), abs=1e-6)

    history = await ex.fetch_funding_history(BTC)  # ccxt's unified view of the same income rows
    assert sorted(h["timestamp"] for h in history) == sorted(t for s, t, _a in expected if s == BTC)

    sim.advance(7 * HOUR)  # 23:00: no boundary crossed, nothing more
    assert len(await income(ex, "FUNDING_FEE")) == len(expected)
    sim.advance(HOUR)  # 00:00: the next one
    assert len(await income(ex, "FUNDING_FEE")) == len(expected) + len(legs)


async def test_no_position_no_funding(ex: ccxt.bingx, sim: SimServer) -> None:
    sim.freeze(past(3, hour=7, minute=59))
    await ex.create_order(BTC, "limit", "buy", 0.01, 1_000.0)  # an order is not a position
    before = await wallet(ex)
    sim.advance(9 * HOUR)
    assert await income(ex, "FUNDING_FEE") == [] and await wallet(ex) == before


async def test_funding_rate_history_covers_any_range(ex: ccxt.bingx, sim: SimServer) -> None:
    now = sim.freeze(past(2, hour=12, second=0))
    five_am = now - 10 * 24 * HOUR - 7 * HOUR  # 05:00 UTC, ten days back
    listed = sim.admin("PUT", "/listing", json={"symbol": "SOL-USDT", "listed_at_ms": five_am})
    sol = "SOL/USDT:USDT"
    start = listed["listed_at_ms"] - 5 * 24 * HOUR  # before the listing: starts at its first funding time
    history = await ex.fetch_funding_rate_history(sol, since=start, limit=1000)
    times = [h["timestamp"] for h in history]
    assert times[0] == listed["listed_at_ms"] - 5 * HOUR + 8 * HOUR  # 08:00 of the listing day
    assert times == list(range(times[0], now + 1, 8 * HOUR))  # every 8 h, up to now, none in the future
    window = await ex.fetch_funding_rate_history(sol, since=times[3], limit=2)
    assert [h["timestamp"] for h in window] == times[3:5]
    assert [h["fundingRate"] for h in window] == [h["fundingRate"] for h in history[3:5]]  # the same every read
    assert all(-0.0002 <= h["fundingRate"] <= 0.0004 for h in history)
