"""The gateway through the real ccxt client against the simulator, with a real Redis."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import orjson
import pytest
from redis.asyncio import Redis

from devkit import processes
from devkit.sim_server import SimServer
from shared.errors import BadRequestError, CircuitOpenError, InsufficientFundsError, TransientExchangeError
from shared.gateway import GatewayOptions, MarketDataGateway
from shared.gateway.breaker import CircuitBreaker
from shared.gateway.ratelimit import DistributedRateLimiter
from tests.conftest import GatewayFactory as Factory

BTC = "BTC/USDT:USDT"
TICKERS = "/openApi/swap/v2/quote/ticker"
KLINES = "/openApi/swap/v3/quote/klines"


async def test_all_prices_with_one_upstream_call(make_gateway: Factory, sim: SimServer) -> None:
    gateway = make_gateway()
    symbols = await gateway.symbols()
    assert len(symbols) == 200
    sim.admin("POST", "/stats/reset")
    prices = await gateway.prices(symbols)
    assert len(prices) == 200 and all(p > 0 for p in prices.values())
    assert sim.requests() == 1
    assert (await gateway.ticker(BTC)).last == prices[BTC]
    assert (await gateway.prices(["ETH/USDT:USDT"]))["ETH/USDT:USDT"] > 0
    assert sim.requests() == 1  # single prices come from the batched read


async def test_markets_are_loaded_once_for_all_processes(make_gateway: Factory, sim: SimServer) -> None:
    await make_gateway().symbols()
    loaded = sim.requests("/openApi/swap/v2/quote/contracts")
    await make_gateway().symbols()  # another process: reads the cached markets
    assert sim.requests("/openApi/swap/v2/quote/contracts") == loaded == 1


async def test_ohlcv_many_is_compact_and_cached(make_gateway: Factory, sim: SimServer) -> None:
    gateway = make_gateway()
    symbols = (await gateway.symbols())[:20]
    sim.admin("POST", "/stats/reset")
    first = await gateway.ohlcv_many(symbols, "15m", 100)
    assert sim.requests(KLINES) == 20
    assert all(len(rows) == 100 and len(rows[0]) == 6 for rows in first.values())
    again = await make_gateway().ohlcv_many(symbols, "15m", 50)  # another process, a smaller window
    assert sim.requests(KLINES) == 20
    assert again[symbols[0]] == first[symbols[0]][-50:]


async def test_concurrent_processes_share_one_ohlcv_call(make_gateway: Factory, sim: SimServer) -> None:
    gateways = [make_gateway() for _ in range(3)]
    for gateway in gateways:
        await gateway.cache.start()
        await gateway.symbols()
    sim.admin("PUT", "/latency", json={"latency_ms": 100})
    sim.admin("POST", "/stats/reset")
    results = await asyncio.gather(*(g.ohlcv(BTC, "1h", 100) for g in gateways for _ in range(10)))
    assert sim.requests(KLINES) == 1
    assert all(r == results[0] for r in results)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda g: g.ohlcv(BTC, "7m", 10), "bad timeframe '7m'"),
        (lambda g: g.ohlcv(BTC, "1h", 0), "limit 0 out of range"),
        (lambda g: g.ohlcv(BTC, "1h", 5000), "limit 5000 out of range"),
        (lambda g: g.ohlcv("NOPE/USDT:USDT", "1h", 10), "unknown symbol 'NOPE/USDT:USDT'"),
        (lambda g: g.ticker("BTC-USDT"), "use the unified form"),
        (lambda g: g.order_book(BTC, 0), "order book limit 0"),
    ],
)
async def test_bad_input_gets_a_clear_error_and_no_upstream_call(
    make_gateway: Factory, sim: SimServer, call: Callable[[MarketDataGateway], object], message: str
) -> None:
    gateway = make_gateway()
    await gateway.symbols()
    sim.admin("POST", "/stats/reset")
    with pytest.raises(BadRequestError, match=message):
        await call(gateway)
    assert sim.requests() == 0


async def test_transient_faults_are_retried(make_gateway: Factory, sim: SimServer) -> None:
    # Not a test of the read deadline: give the retries all the time they need.
    gateway = make_gateway(exchange_retries=3, breaker_failure_threshold=100, exchange_read_deadline_s=60)
    await gateway.symbols()
    sim.admin("POST", "/faults", json={"kind": "http_503", "count": 10, "path_prefix": KLINES})
    results = await asyncio.gather(*(gateway.ohlcv(s, "5m", 10) for s in (await gateway.symbols())[:10]))
    assert all(len(r) == 10 for r in results)
    stats = sim.admin("GET", "/stats")
    assert stats["outcomes"].get("fault_http_503", 0) == 10  # the first ten failed, all were retried to success


async def test_permanent_errors_are_not_retried(make_gateway: Factory, sim: SimServer) -> None:
    gateway = make_gateway()
    await gateway.symbols()
    sim.admin("POST", "/stats/reset")
    with pytest.raises(InsufficientFundsError):
        await gateway.account.create_order(BTC, "buy", 1000, client_order_id="too_big", hedged=False)
    assert sim.requests("/openApi/swap/v2/trade/order") == 1


async def test_breaker_opens_fails_fast_and_closes(make_gateway: Factory, sim: SimServer) -> None:
    gateway = make_gateway(exchange_retries=0, breaker_failure_threshold=3, breaker_reset_s=0.5)
    await gateway.symbols()
    sim.admin("POST", "/faults", json={"kind": "http_503", "duration_s": 30, "path_prefix": KLINES})
    for _ in range(3):
        with pytest.raises(TransientExchangeError):
            await gateway.ohlcv(BTC, "1m", 5)
        await gateway.cache.invalidate()
    assert gateway.breaker.state.name == "OPEN"
    sim.admin("POST", "/stats/reset")
    with pytest.raises(CircuitOpenError):
        await gateway.ohlcv(BTC, "1m", 5)
    assert sim.requests() == 0  # failing fast: nothing sent
    sim.admin("DELETE", "/faults")
    await asyncio.sleep(0.6)
    assert len(await gateway.ohlcv(BTC, "1m", 5)) == 5  # the half-open trial succeeds
    assert gateway.breaker.state.name == "CLOSED"


async def test_outage_is_survived_with_stale_data(make_gateway: Factory, sim: SimServer) -> None:
    gateway = make_gateway(cache_ttl_price_s=0.3, cache_ttl_ohlcv_s=0.3, cache_stale_factor=1000, exchange_retries=0)
    symbols = (await gateway.symbols())[:5]
    before_prices = await gateway.prices(symbols)
    before_candles = await gateway.ohlcv_many(symbols, "1h", 20)
    sim.admin("POST", "/faults", json={"kind": "http_503", "duration_s": 30})
    await asyncio.sleep(0.5)  # everything is past its fresh TTL now
    for _ in range(5):
        assert await gateway.prices(symbols) == before_prices
        assert await gateway.ohlcv_many(symbols, "1h", 20) == before_candles
    stats = gateway.cache.local_stats()
    assert stats["price"]["redis"]["stale"] >= 5
    sim.admin("DELETE", "/faults")


async def test_baseline_mode_calls_per_symbol_and_caches_nothing(
    make_gateway: Factory, sim: SimServer, redis: Redis
) -> None:
    warm = make_gateway()
    symbols = (await warm.symbols())[:15]
    await redis.flushdb()
    baseline = make_gateway(GatewayOptions(use_cache=False, batch_tickers=False))
    await baseline.markets()
    sim.admin("POST", "/stats/reset")
    prices = await baseline.prices(symbols)
    assert len(prices) == 15
    assert sim.requests(TICKERS) == 15
    await baseline.prices(symbols)
    assert sim.requests(TICKERS) == 30
    assert await redis.keys("tp:cache:price:*") == []


def test_breaker_state_machine() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_s=5, clock=lambda: now[0])
    breaker.on_failure()
    breaker.before_call()
    breaker.on_failure()
    with pytest.raises(CircuitOpenError, match=r"retry in 5\.0 s"):
        breaker.before_call()
    now[0] = 5.0
    breaker.before_call()  # the half-open trial
    assert breaker.state.name == "HALF_OPEN"
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # only one trial at a time
    breaker.on_failure()
    assert breaker.state.name == "OPEN"
    now[0] = 10.0
    breaker.before_call()
    breaker.on_success()
    assert breaker.state.name == "CLOSED"


async def test_rate_limit_budget_is_shared_by_two_processes(redis: Redis, redis_url: str) -> None:
    seconds = 2.0
    args = [sys.executable, "-m", "tests.helpers.limiter_proc", redis_url, "2", str(seconds)]
    outputs = await asyncio.to_thread(processes.run_many, args, 2)
    grants = [orjson.loads(out) for out in outputs]
    stamps = sorted(t for g in grants for t in g)
    total, span = len(stamps), stamps[-1] - stamps[0]
    assert all(len(g) > 5 for g in grants)  # both processes got a share
    assert total <= 5 + 20 * (span + 0.1)  # a token bucket's bound: burst + rate x the time the grants took
    assert total >= 20 * seconds * 0.7  # and the budget is actually used


async def test_limiter_gives_up_past_its_longest_wait(redis: Redis) -> None:
    limiter = DistributedRateLimiter(redis, key="test:tiny", rate_per_s=1, burst=1, max_wait_s=0.2)
    await limiter.acquire()
    with pytest.raises(TransientExchangeError, match="budget exhausted"):
        await limiter.acquire()
