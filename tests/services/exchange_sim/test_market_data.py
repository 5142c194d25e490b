"""Public market data through the unmodified ccxt bingx client: markets, time, tickers, candles, depth."""

from __future__ import annotations

import asyncio
import time

import ccxt.async_support as ccxt
import pytest

from devkit.sim_server import SimServer
from services.exchange_sim.market import SyntheticMarket
from tests.services.exchange_sim.helpers import BTC


async def test_load_markets_lists_200_swaps_with_precision(ex: ccxt.bingx, sim: SimServer) -> None:
    markets = await ex.load_markets()
    swaps = [m for m in markets.values() if m["swap"]]
    assert len(swaps) == 200
    btc = markets[BTC]
    assert btc["active"] and btc["linear"] and btc["settle"] == "USDT"
    assert btc["precision"]["price"] == 0.1
    for path in (
        "/openApi/cswap/v1/market/contracts",
        "/openApi/spot/v1/common/symbols",
        "/openApi/swap/v2/quote/contracts",
    ):
        assert sim.requests(path) == 1


async def test_server_time_follows_the_clock(ex: ccxt.bingx, sim: SimServer) -> None:
    assert abs(await ex.fetch_time() - time.time() * 1000) < 5_000
    sim.admin("POST", "/clock", json={"offset_ms": -86_400_000})
    assert abs(await ex.fetch_time() - (time.time() * 1000 - 86_400_000)) < 5_000
    sim.admin("POST", "/clock", json={"offset_ms": 0})


async def test_all_tickers_in_one_request(ex: ccxt.bingx, sim: SimServer) -> None:
    await ex.load_markets()
    sim.admin("POST", "/stats/reset")
    tickers = await ex.fetch_tickers()
    assert len(tickers) == 200
    assert sim.requests() == 1
    btc = tickers[BTC]
    assert btc["bid"] < btc["last"] < btc["ask"]
    assert btc["low"] <= btc["last"] <= btc["high"]
    assert btc["quoteVolume"] > 0


async def test_candles_agree_across_intervals_and_with_the_ticker(ex: ccxt.bingx, sim: SimServer) -> None:
    sim.admin(
        "POST", "/clock", json={"offset_ms": -30_000}
    )  # away from minute edges is not needed: same-second reads agree
    sim.admin("POST", "/clock", json={"frozen_at_ms": int(time.time() * 1000)})
    ones, fives, ticker = await asyncio.gather(
        ex.fetch_ohlcv(BTC, "1m", limit=10), ex.fetch_ohlcv(BTC, "5m", limit=2), ex.fetch_ticker(BTC)
    )
    last_five = fives[-1]
    inside = [c for c in ones if c[0] >= last_five[0]]
    assert inside[0][1] == pytest.approx(last_five[1], rel=1e-6)
    assert max(c[2] for c in inside) == pytest.approx(last_five[2], rel=1e-6)
    assert min(c[3] for c in inside) == pytest.approx(last_five[3], rel=1e-6)
    assert ones[-1][4] == pytest.approx(last_five[4], rel=1e-6)
    assert ones[-1][4] == pytest.approx(ticker["last"], rel=1e-6)
    assert [c[0] for c in ones] == sorted(c[0] for c in ones)


@pytest.mark.parametrize("timeframe", ["1m", "3m", "15m", "1h", "4h", "1d", "1w", "1M"])
async def test_every_timeframe_answers(ex: ccxt.bingx, timeframe: str) -> None:
    candles = await ex.fetch_ohlcv(BTC, timeframe, limit=50)
    assert 1 <= len(candles) <= 50
    for _ts, o, h, low, c, v in candles:
        assert low <= min(o, c) <= max(o, c) <= h
        assert v >= 0


async def test_order_book_is_sorted_around_the_price(ex: ccxt.bingx) -> None:
    book = await ex.fetch_order_book(BTC, 10)
    bids, asks = book["bids"], book["asks"]
    assert len(bids) == len(asks) == 10
    assert bids[0][0] < asks[0][0]
    assert [b[0] for b in bids] == sorted((b[0] for b in bids), reverse=True)
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)


def test_unknown_symbol_is_a_bad_symbol(sim: SimServer) -> None:
    import httpx

    response = httpx.get(f"{sim.api_url}/swap/v2/quote/ticker", params={"symbol": "NOPE-USDT"})
    assert response.json()["code"] == 109425


def test_market_is_deterministic_per_seed() -> None:
    now = 1_790_000_000_000
    first, again, other = SyntheticMarket(1, 30), SyntheticMarket(1, 30), SyntheticMarket(2, 30)
    spec = first.symbols[25]
    assert first.price_now(spec, now) == again.price_now(again.symbols[25], now)
    assert first.price_now(spec, now) != other.price_now(other.symbols[25], now)
    assert first.tickers(now)["BTC-USDT"] == again.tickers(now)["BTC-USDT"]
