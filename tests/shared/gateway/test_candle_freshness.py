"""Candle series stay fresh until their candle closes, then only the candles since are fetched and merged.

The simulator's clock is frozen and moved by the test, with the cache's clock beside it, so "within the
candle" and "after the close" are exact instants, not waits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from devkit.sim_server import SimServer
from shared.gateway import MarketDataGateway
from shared.gateway.models import TIMEFRAME_MS, candle_close, candle_rows, merge_candles
from tests.conftest import GatewayFactory as Factory
from tests.helpers.cache import FakeClock

BTC = "BTC/USDT:USDT"
KLINES = "/openApi/swap/v3/quote/klines"
H4 = TIMEFRAME_MS["4h"]
CANDLE = 1_700_006_400_000 // H4 * H4  # the open of a 4h candle
GRACE_S = 2.0


class MarketClock:
    """The simulator's clock and the cache's, frozen together at one instant and moved together."""

    def __init__(self, sim: SimServer, at_ms: int) -> None:
        self.sim = sim
        self.cache_clock = FakeClock(at_ms / 1000)
        self.set(at_ms)

    def set(self, at_ms: int) -> None:
        self.sim.admin("POST", "/clock", json={"frozen_at_ms": at_ms})
        self.cache_clock.now = at_ms / 1000


class OhlcvSpy:
    """Records, for every candle request the gateway's real ccxt client sends, its ``since`` and how many
    candles came back."""

    def __init__(self, gateway: MarketDataGateway) -> None:
        self.calls: list[tuple[int | None, int]] = []
        real: Callable[..., Awaitable[Any]] = gateway.exchange.fetch_ohlcv

        async def spy(symbol: str, timeframe: str, since: int | None = None, limit: int | None = None) -> Any:
            rows = await real(symbol, timeframe, since, limit)
            self.calls.append((since, len(rows)))
            return rows

        gateway.exchange.fetch_ohlcv = spy


async def _from_the_exchange(sim: SimServer, timeframe: str, limit: int) -> tuple[tuple[float, ...], ...]:
    exchange = sim.ccxt()
    try:
        return candle_rows(await exchange.fetch_ohlcv(BTC, timeframe, limit=limit))
    finally:
        await exchange.close()


async def test_a_4h_series_is_not_refetched_within_its_candle_and_once_after_the_close(
    make_gateway: Factory, sim: SimServer
) -> None:
    clock = MarketClock(sim, CANDLE + 3_600_000)  # an hour into the candle
    gateway = make_gateway(clock=clock.cache_clock, cache_candle_grace_s=GRACE_S)
    other = make_gateway(clock=clock.cache_clock, cache_candle_grace_s=GRACE_S)  # another process
    await gateway.symbols()
    await other.symbols()
    spy = OhlcvSpy(gateway)
    sim.admin("POST", "/stats/reset")
    first = await gateway.ohlcv(BTC, "4h", 200)
    assert first[-1][0] == CANDLE  # the candle in progress
    for at in (CANDLE + 3 * 3_600_000, CANDLE + H4 - 1000, CANDLE + H4 + int(GRACE_S * 1000) - 1000):
        clock.set(at)  # later within the candle, or past its close but within the grace
        assert await gateway.ohlcv(BTC, "4h", 200) == first
        assert await other.ohlcv(BTC, "4h", 100) == first[-100:]
    assert sim.requests(KLINES) == 1
    clock.set(CANDLE + H4 + int(GRACE_S * 1000) + 1000)  # past the close and its grace
    after = await gateway.ohlcv(BTC, "4h", 200)
    assert await other.ohlcv(BTC, "4h", 200) == after
    assert sim.requests(KLINES) == 2  # refetched once, for every reader of every process
    assert spy.calls == [(None, 200), (CANDLE, 2)]  # then only the candle that closed and the new one
    assert after[-1][0] == CANDLE + H4
    assert after == await _from_the_exchange(sim, "4h", 200)  # the merge is what a full fetch gives


async def test_many_closed_candles_are_caught_up_in_one_call(make_gateway: Factory, sim: SimServer) -> None:
    clock = MarketClock(sim, CANDLE + 60_000)
    gateway = make_gateway(clock=clock.cache_clock)
    await gateway.symbols()
    spy = OhlcvSpy(gateway)
    await gateway.ohlcv(BTC, "15m", 50)
    clock.set(CANDLE + 7 * 900_000 + 120_000)  # seven 15m candles later
    merged = await gateway.ohlcv(BTC, "15m", 200)
    assert spy.calls[-1] == (CANDLE, 8)  # the one that was in progress, six closed since, the new one
    assert merged == await _from_the_exchange(sim, "15m", 200)


async def test_a_series_too_far_behind_is_fetched_whole(make_gateway: Factory, sim: SimServer) -> None:
    clock = MarketClock(sim, CANDLE + 60_000)
    gateway = make_gateway(clock=clock.cache_clock, cache_stale_factor=1000)
    await gateway.symbols()
    spy = OhlcvSpy(gateway)
    await gateway.ohlcv(BTC, "1m", 100)
    clock.set(CANDLE + 400 * 60_000)  # more than the 300-candle window later
    assert await gateway.ohlcv(BTC, "1m", 300) == await _from_the_exchange(sim, "1m", 300)
    assert spy.calls[-1] == (None, 300)


def test_candle_close_is_the_close_of_the_candle_in_progress() -> None:
    rows = [(CANDLE - H4, 1.0), (CANDLE, 1.0)]
    assert candle_close(rows, H4, (CANDLE + 1000) / 1000) == (CANDLE + H4) / 1000
    # The last candle closed already by our clock (no trades since, or clocks apart): the next close on our
    # grid, at most an hour away.
    m15 = TIMEFRAME_MS["15m"]
    assert candle_close(rows, m15, (CANDLE + 2 * m15 + 5000) / 1000) == (CANDLE + 3 * m15) / 1000
    assert candle_close(rows, H4, (CANDLE + H4 + 5000) / 1000) == (CANDLE + H4 + 5000) / 1000 + 3600


@pytest.mark.parametrize(
    ("old", "new", "merged"),
    [
        ([[1, 10], [2, 20]], [[2, 21], [3, 30]], [[1, 10], [2, 21], [3, 30]]),  # last candle replaced, one added
        ([[1, 10], [2, 20]], [], [[1, 10], [2, 20]]),  # nothing new
        ([[1, 10], [2, 20], [3, 30]], [[3, 31], [4, 40], [5, 50]], [[3, 31], [4, 40], [5, 50]]),  # window of 3
        ([[1, 10], [2, 20]], [[4, 40]], None),  # candle 3 missing: a gap, not a merge
    ],
)
def test_merge_candles(old: list[list[float]], new: list[list[float]], merged: list[list[float]] | None) -> None:
    assert merge_candles(old, new, 3) == merged
