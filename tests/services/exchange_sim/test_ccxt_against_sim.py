"""The unmodified ccxt bingx client against the simulator on loopback: every call the project uses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import ccxt.async_support as ccxt
import pytest

from devkit.sim_server import SimServer
from services.exchange_sim.market import SyntheticMarket

BTC = "BTC/USDT:USDT"


async def wallet_balance(ex: ccxt.bingx) -> float:
    """The USDT wallet balance (before unrealised PnL), as BingX reports it."""
    balance = await ex.fetch_balance({"type": "swap"})
    [row] = balance["info"]["data"]
    return float(row["balance"])


@pytest.fixture
async def ex(sim: SimServer) -> AsyncIterator[ccxt.bingx]:
    client = sim.ccxt()
    try:
        yield client
    finally:
        await client.close()


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


async def test_since_and_limit(ex: ccxt.bingx) -> None:
    since = int(time.time() * 1000) - 3 * 3_600_000
    candles = await ex.fetch_ohlcv(BTC, "1h", since=since, limit=2)
    assert len(candles) == 2
    assert candles[0][0] >= since - 3_600_000


async def test_order_book_is_sorted_around_the_price(ex: ccxt.bingx) -> None:
    book = await ex.fetch_order_book(BTC, 10)
    bids, asks = book["bids"], book["asks"]
    assert len(bids) == len(asks) == 10
    assert bids[0][0] < asks[0][0]
    assert [b[0] for b in bids] == sorted((b[0] for b in bids), reverse=True)
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)


async def test_market_order_fills_opens_a_position_and_charges_a_fee(ex: ccxt.bingx) -> None:
    before = await wallet_balance(ex)
    order = await ex.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "tp_test_1"})
    fetched = await ex.fetch_order(order["id"], BTC)
    assert fetched["status"] == "closed"
    assert fetched["filled"] == 0.01
    assert fetched["clientOrderId"] == "tp_test_1"
    fee = fetched["fee"]["cost"]
    assert fee == pytest.approx(0.01 * fetched["average"] * 0.0005, rel=1e-6)
    [position] = await ex.fetch_positions([BTC])
    assert position["side"] == "long" and position["contracts"] == 0.01
    assert await wallet_balance(ex) == pytest.approx(before - fee, abs=1e-3)  # the wallet pays the fee only


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


async def test_bad_signature_is_an_authentication_error(sim: SimServer) -> None:
    client = sim.ccxt(secret="not-the-secret")
    try:
        with pytest.raises(ccxt.AuthenticationError):
            await client.fetch_balance({"type": "swap"})
    finally:
        await client.close()


def test_unknown_symbol_is_a_bad_symbol(sim: SimServer) -> None:
    import httpx

    response = httpx.get(f"{sim.api_url}/swap/v2/quote/ticker", params={"symbol": "NOPE-USDT"})
    assert response.json()["code"] == 109425


async def test_rate_limit_answers_bingx_code(ex: ccxt.bingx, sim: SimServer) -> None:
    await ex.load_markets()
    sim.admin("PUT", "/rate-limit", json={"enabled": True, "per_s": 1, "burst": 2})
    with pytest.raises(ccxt.OperationFailed):
        for _ in range(5):
            await ex.fetch_ticker(BTC)
    assert sim.admin("GET", "/stats")["outcomes"]["rate_limited"] >= 1


async def test_injected_503_window_then_recovery(ex: ccxt.bingx, sim: SimServer) -> None:
    await ex.load_markets()
    sim.admin("POST", "/faults", json={"kind": "http_503", "duration_s": 60})
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await ex.fetch_ticker(BTC)
    sim.admin("DELETE", "/faults")  # the window ends
    assert (await ex.fetch_ticker(BTC))["last"] > 0


async def test_injected_timeout(sim: SimServer) -> None:
    client = sim.ccxt(timeout=300)
    try:
        await client.load_markets()
        sim.admin("POST", "/faults", json={"kind": "timeout", "duration_s": 2, "hang_s": 1})
        with pytest.raises(ccxt.RequestTimeout):
            await client.fetch_ticker(BTC)
    finally:
        sim.admin("DELETE", "/faults")
        await client.close()


async def test_injected_fraction_of_failures(ex: ccxt.bingx, sim: SimServer) -> None:
    await ex.load_markets()
    sim.admin("POST", "/faults", json={"kind": "http_503", "probability": 0.5})
    outcomes = []
    for _ in range(40):
        try:
            await ex.fetch_ticker(BTC)
            outcomes.append(True)
        except ccxt.ExchangeNotAvailable:
            outcomes.append(False)
    sim.admin("DELETE", "/faults")
    assert 5 < outcomes.count(False) < 35


def test_admin_needs_the_token(sim: SimServer) -> None:
    import httpx

    assert httpx.post(f"{sim.url}/admin/reset").status_code == 401
    assert httpx.post(f"{sim.url}/admin/reset", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert httpx.get(f"{sim.url}/admin/stats").status_code == 200


def test_market_is_deterministic_per_seed() -> None:
    now = 1_790_000_000_000
    first, again, other = SyntheticMarket(1, 30), SyntheticMarket(1, 30), SyntheticMarket(2, 30)
    spec = first.symbols[25]
    assert first.price_now(spec, now) == again.price_now(again.symbols[25], now)
    assert first.price_now(spec, now) != other.price_now(other.symbols[25], now)
    assert first.tickers(now)["BTC-USDT"] == again.tickers(now)["BTC-USDT"]
