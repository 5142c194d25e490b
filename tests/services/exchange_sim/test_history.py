"""History as BingX serves it, through ccxt: candles from ``since`` forward, the same on every read,
nothing before a symbol's listing (so paging ends), aligned weeks and months, mark-price candles."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import ccxt.async_support as ccxt
import pytest

from devkit.sim_server import SimServer
from tests.services.exchange_sim.helpers import BTC, DAY, HOUR, MINUTE, SOL, past


async def test_since_and_limit_answer_candles_from_since_forward(ex: ccxt.bingx, sim: SimServer) -> None:
    now = sim.freeze(past(1, hour=12))
    since = now - 5 * HOUR - 17 * MINUTE  # 30 s into a minute: the first candle is the next minute's
    candles = await ex.fetch_ohlcv(BTC, "1m", since=since, limit=60)
    first = since // MINUTE * MINUTE + MINUTE
    assert [c[0] for c in candles] == list(range(first, first + 60 * MINUTE, MINUTE))
    hourly = await ex.fetch_ohlcv(BTC, "1h", since=now - 3 * HOUR, limit=2)
    assert [c[0] for c in hourly] == [now // HOUR * HOUR - 2 * HOUR, now // HOUR * HOUR - HOUR]


async def test_an_hour_aggregates_its_sixty_minutes(ex: ccxt.bingx, sim: SimServer) -> None:
    now = sim.freeze(past(1, hour=12))
    hour = now // HOUR * HOUR - 5 * HOUR
    [candle] = await ex.fetch_ohlcv(BTC, "1h", since=hour, limit=1)
    minutes = await ex.fetch_ohlcv(BTC, "1m", since=hour, limit=60)
    assert candle[0] == hour and len(minutes) == 60 and minutes[-1][0] == hour + 59 * MINUTE
    assert candle[1] == minutes[0][1]
    assert candle[2] == max(m[2] for m in minutes)
    assert candle[3] == min(m[3] for m in minutes)
    assert candle[4] == minutes[-1][4]
    assert candle[5] == pytest.approx(sum(m[5] for m in minutes), rel=1e-4)  # volumes are rounded per row


async def test_completed_candles_are_the_same_on_every_read(ex: ccxt.bingx, sim: SimServer) -> None:
    now = sim.freeze(past(2, hour=6))
    first = await ex.fetch_ohlcv(BTC, "5m", since=now - 10 * HOUR, limit=100)
    sim.advance(3 * HOUR)
    again = await ex.fetch_ohlcv(BTC, "5m", since=now - 10 * HOUR, limit=100)
    assert first[:-1] == again[: len(first) - 1]  # all but the candle that was in progress


async def test_paging_forward_from_before_the_listing_ends_at_now(ex: ccxt.bingx, sim: SimServer) -> None:
    now = sim.freeze(past(1, hour=10, second=0))
    listed = now - 2 * DAY - 3 * HOUR - 7 * MINUTE
    sim.admin("PUT", "/listing", json={"symbol": "SOL-USDT", "listed_at_ms": listed})
    since, pages, candles = 0, 0, []
    while True:
        page = await ex.fetch_ohlcv(SOL, "15m", since=since, limit=100)
        pages += 1
        if not page:
            break
        candles += page
        since = page[-1][0] + 1
    times = [c[0] for c in candles]
    assert times[0] == listed // (15 * MINUTE) * (15 * MINUTE)  # the candle holding the listing
    assert times == list(range(times[0], now + 1, 15 * MINUTE))  # contiguous, no duplicate, up to now
    assert pages == len(times) // 100 + 2  # full pages, the last partial one, then an empty answer
    minutes = await ex.fetch_ohlcv(SOL, "1m", since=listed - HOUR, limit=5)
    assert minutes[0][0] == listed  # no minute before the listing


async def test_paging_backwards_stops_at_the_listing(ex: ccxt.bingx, sim: SimServer) -> None:
    now = sim.freeze(past(1, hour=10, second=0))
    listed = now - 10 * DAY
    sim.admin("PUT", "/listing", json={"symbol": "SOL-USDT", "listed_at_ms": listed})
    days = await ex.fetch_ohlcv(SOL, "1d", limit=1000)
    assert days[0][0] == listed // DAY * DAY and len(days) == 11
    assert await ex.fetch_ohlcv(SOL, "1h", limit=10, params={"until": listed - 1}) == []


async def test_weeks_start_on_monday_and_months_on_the_first(ex: ccxt.bingx) -> None:
    for candle in await ex.fetch_ohlcv(BTC, "1w", limit=10):
        assert datetime.fromtimestamp(candle[0] / 1000, UTC).weekday() == 0
    months = await ex.fetch_ohlcv(BTC, "1M", limit=14)
    opened = [datetime.fromtimestamp(c[0] / 1000, UTC) for c in months]
    assert all(d.day == 1 and d.hour == 0 for d in opened)
    assert len({(d.year, d.month) for d in opened}) == len(opened)
    assert opened[-1].month == datetime.fromtimestamp(time.time(), UTC).month


async def test_mark_price_candles_follow_the_same_path(ex: ccxt.bingx, sim: SimServer) -> None:
    now = sim.freeze(past(1, hour=12))
    since = now - 3 * HOUR
    last = await ex.fetch_ohlcv(BTC, "1m", since=since, limit=30)
    mark = await ex.fetch_mark_ohlcv(BTC, "1m", since=since, limit=30)
    assert [c[0] for c in mark] == [c[0] for c in last]
    for price, traded in zip(mark, last, strict=True):
        assert price[1:5] == pytest.approx(traded[1:5], abs=0.051)  # two more decimals, same path
        assert price[5] == 0
    minute = sim.market.price_now(sim.market.by_id["BTC-USDT"], mark[0][0])
    assert mark[0][1] == pytest.approx(minute, abs=0.0051)
