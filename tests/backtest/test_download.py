"""Downloading history from the simulator through the gateway: paging, incremental runs, resume, gaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backtest.download import Downloader, top_symbols
from backtest.history import Store, merge, read_candles, read_funding, write_candles
from devkit.sim_server import SimServer
from services.exchange_sim.funding import funding_rate
from shared.gateway import MarketDataGateway
from shared.gateway.models import Candles
from tests.conftest import GatewayFactory

HOUR = 3_600_000
DAY = 24 * HOUR
NOW = 1_767_225_600_000 + 3 * DAY + 30 * 60_000  # 2026-01-04 00:30 UTC: the 00:00 candle is in progress
SYMBOL = "BTC/USDT:USDT"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "history", "sim")


def expected_closes(sim: SimServer, start: int, count: int) -> np.ndarray:
    """The closes of ``count`` 1h candles from ``start``, straight from the market (the oracle)."""
    spec = sim.market.by_id["BTC-USDT"]
    minutes = np.arange(start // 60_000, start // 60_000 + count * 60)
    closes = sim.market.prices_at(spec, minutes + 1)
    return closes[59::60]


async def test_paging_fetches_the_range_once_and_stops(
    sim: SimServer, make_gateway: GatewayFactory, store: Store
) -> None:
    sim.freeze(NOW)
    gateway = make_gateway()
    start = NOW - 10 * DAY - 30 * 60_000  # 240 closed candles, in pages of 100
    reports = await Downloader(gateway, store, page=100).run([SYMBOL], ["1h"], start, NOW)
    report = reports[0]
    candles = read_candles(store.candles_path("1h", SYMBOL))
    assert len(candles) == report.stored == report.fetched == 240
    assert report.pages == 3  # 100 + 100 + 40, and the range ends: no empty page asked for
    assert candles.ts[0] == start and candles.ts[-1] == NOW - 30 * 60_000 - HOUR  # the candle in progress is left out
    assert np.allclose(candles.close, expected_closes(sim, start, 240))
    assert report.gaps == [] and report.duplicates == 0
    times, rates = read_funding(store.funding_path(SYMBOL))
    assert len(times) == report.funding == 31 and (np.diff(times) == 8 * HOUR).all()
    spec = sim.market.by_id["BTC-USDT"]
    assert rates.tolist() == [funding_rate(sim.market, spec, int(t)) for t in times]


async def test_second_run_fetches_only_what_is_missing(
    sim: SimServer, make_gateway: GatewayFactory, store: Store
) -> None:
    sim.freeze(NOW)
    gateway = make_gateway()
    start = NOW - 4 * DAY - 30 * 60_000
    await Downloader(gateway, store, page=100).run([SYMBOL], ["1h"], start + DAY, NOW, funding=False)
    before = sim.requests()
    report = (await Downloader(gateway, store, page=100).run([SYMBOL], ["1h"], start, NOW, funding=False))[0]
    assert report.fetched == 24 and report.stored == 96  # only the first day was missing
    assert sim.requests() - before == 2  # the server time, and one page
    again = (await Downloader(gateway, store, page=100).run([SYMBOL], ["1h"], start, NOW, funding=False))[0]
    assert again.fetched == 0 and again.pages == 0


async def test_an_interrupted_run_keeps_what_it_wrote_and_the_next_one_goes_on(
    sim: SimServer, make_gateway: GatewayFactory, store: Store
) -> None:
    sim.freeze(NOW)
    gateway = make_gateway()
    start = NOW - 40 * DAY - 30 * 60_000  # 960 candles in pages of 50: flushed every 5 pages

    class Interrupted(MarketDataGateway):
        pages = 0

        async def ohlcv_since(self, *args: object, **kwargs: object) -> Candles:
            Interrupted.pages += 1
            if Interrupted.pages == 13:  # Ctrl-C in the middle of the third batch
                raise KeyboardInterrupt
            return await super().ohlcv_since(*args, **kwargs)  # type: ignore[arg-type]

    interrupted = Interrupted(gateway.settings, gateway.limiter.redis, gateway.cache)
    with pytest.raises(KeyboardInterrupt):
        await Downloader(interrupted, store, page=50).run([SYMBOL], ["1h"], start, NOW, funding=False)
    await interrupted.close()
    kept = read_candles(store.candles_path("1h", SYMBOL))
    assert len(kept) == 500  # two flushed batches of 5 pages; the batch in flight is lost, nothing corrupted
    assert not list(store.candles_path("1h", SYMBOL).parent.glob(".*.tmp"))
    report = (await Downloader(gateway, store, page=50).run([SYMBOL], ["1h"], start, NOW, funding=False))[0]
    assert report.fetched == 460 and report.stored == 960 and report.gaps == []
    assert np.allclose(read_candles(store.candles_path("1h", SYMBOL)).close, expected_closes(sim, start, 960))


async def test_gaps_listing_and_duplicates_are_reported(
    sim: SimServer, make_gateway: GatewayFactory, store: Store
) -> None:
    sim.freeze(NOW)
    gateway = make_gateway()
    start = NOW - 6 * DAY - 30 * 60_000
    sim.admin("PUT", "/listing", json={"symbol": "ETH-USDT", "listed_at_ms": start + 2 * DAY})
    report = (await Downloader(gateway, store).run(["ETH/USDT:USDT"], ["1h"], start, NOW, funding=False))[0]
    assert report.missing_start == (start, start + 2 * DAY) and report.stored == 96

    # A hole in the stored file (a file cut by hand, a failed run elsewhere) is reported, then filled.
    path = store.candles_path("1h", SYMBOL)
    await Downloader(gateway, store).run([SYMBOL], ["1h"], start, NOW, funding=False)
    candles = read_candles(path)
    keep = (candles.ts < start + DAY) | (candles.ts >= start + DAY + 5 * HOUR)
    path.unlink()
    write_candles(path, candles.rows()[keep])

    class Repeating(MarketDataGateway):  # an exchange that sends every candle twice
        async def ohlcv_since(self, *args: object, **kwargs: object) -> Candles:
            rows = await super().ohlcv_since(*args, **kwargs)  # type: ignore[arg-type]
            return rows + rows

    repeating = Repeating(gateway.settings, gateway.limiter.redis, gateway.cache)
    report = (await Downloader(repeating, store).run([SYMBOL], ["1h"], start, NOW, funding=False))[0]
    await repeating.close()
    assert report.fetched == 5 and report.duplicates == 5 and report.gaps == []
    assert (np.diff(read_candles(path).ts) == HOUR).all()


async def test_top_symbols_by_volume(sim: SimServer, make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    top = await top_symbols(gateway, 3)
    tickers = await gateway.tickers()
    volumes = sorted((t.quote_volume or 0 for t in tickers.values()), reverse=True)
    assert [tickers[s].quote_volume for s in top] == volumes[:3]


def test_merge_keeps_one_row_per_time_the_newest() -> None:
    old = np.array([[1, 10.0], [2, 20.0], [3, 30.0]])
    new = np.array([[3, 31.0], [4, 40.0], [4, 41.0]])
    merged, duplicates = merge(old, new)
    assert merged.tolist() == [[1, 10.0], [2, 20.0], [3, 31.0], [4, 41.0]]
    assert duplicates == 2
