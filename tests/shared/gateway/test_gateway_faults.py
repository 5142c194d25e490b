"""The gateway when the exchange is slow or the breaker's trial never goes out (real ccxt, simulator, Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from devkit.sim_server import SimServer
from devkit.waits import eventually
from shared.cache import Tier
from shared.errors import CircuitOpenError, TransientExchangeError
from shared.gateway import MarketDataGateway
from shared.gateway.deadline import SlowExchangeError
from tests.conftest import GatewayFactory as Factory
from tests.helpers.cache import FakeClock

BTC = "BTC/USDT:USDT"
KLINES = "/openApi/swap/v3/quote/klines"


async def _open_breaker(gateway: MarketDataGateway, sim: SimServer) -> None:
    sim.admin("POST", "/faults", json={"kind": "http_503", "duration_s": 60, "path_prefix": KLINES})
    for _ in range(2):
        with pytest.raises(TransientExchangeError):
            await gateway.ohlcv(BTC, "1m", 5)
    assert gateway.breaker.state.name == "OPEN"
    sim.admin("DELETE", "/faults")


async def test_a_trial_refused_by_the_rate_limiter_is_handed_back(
    make_gateway: Factory, sim: SimServer, redis: Redis
) -> None:
    gateway = make_gateway(
        exchange_retries=0, breaker_failure_threshold=2, breaker_reset_s=0.2, exchange_max_wait_s=0,
        exchange_rate_per_s=0.001,  # a spent budget stays spent for the whole test
    )  # fmt: skip
    await gateway.symbols()
    await _open_breaker(gateway, sim)
    await asyncio.sleep(0.3)  # past the breaker's reset: the next call is its trial
    limiter_key = gateway.limiter._key
    await redis.hset(limiter_key, mapping={"tokens": "0", "ts": str(int(time.time() * 1000))})  # budget spent
    with pytest.raises(TransientExchangeError, match="budget exhausted"):
        await gateway.ohlcv(BTC, "1m", 5)  # the trial never reached the exchange
    await redis.delete(limiter_key)  # budget back
    assert len(await gateway.ohlcv(BTC, "1m", 5)) == 5  # a new trial goes out (not "circuit open" forever)
    assert gateway.breaker.state.name == "CLOSED"


async def test_a_cancelled_trial_is_handed_back(make_gateway: Factory, sim: SimServer) -> None:
    gateway = make_gateway(exchange_retries=0, breaker_failure_threshold=2, breaker_reset_s=0.2)
    await gateway.symbols()
    await _open_breaker(gateway, sim)
    await asyncio.sleep(0.3)
    sim.admin("PUT", "/latency", json={"latency_ms": 30_000})
    trial = asyncio.create_task(gateway.exchange.fetch_ticker(BTC))  # warm ccxt's session; not the trial
    trial.cancel()
    call = asyncio.create_task(gateway._call("fetch_ohlcv", 1, lambda: gateway.exchange.fetch_ohlcv(BTC, "1m")))
    await eventually(lambda: gateway.breaker.state.name == "HALF_OPEN", 10)
    with pytest.raises(CircuitOpenError):
        await gateway._call("fetch_ohlcv", 1, lambda: gateway.exchange.fetch_ohlcv(BTC, "1m"))  # trial in flight
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    sim.admin("PUT", "/latency", json={"latency_ms": 0})
    assert len(await gateway._call("fetch_ohlcv", 1, lambda: gateway.exchange.fetch_ohlcv(BTC, "1m", limit=5))) == 5
    assert gateway.breaker.state.name == "CLOSED"


async def test_a_slow_exchange_gets_the_stale_copy_within_the_deadline(make_gateway: Factory, sim: SimServer) -> None:
    clock = FakeClock()
    gateway = make_gateway(clock=clock, exchange_read_deadline_s=0.5, cache_stale_factor=1000, exchange_retries=0)
    before = await gateway.ohlcv(BTC, "1h", 20)
    clock.now += 3600  # past the close of the candle in progress: the next read goes upstream
    sim.admin("PUT", "/latency", json={"latency_ms": 30_000})
    started = time.monotonic()
    assert await gateway.ohlcv(BTC, "1h", 20) == before  # the stale copy, without waiting 30 s
    assert time.monotonic() - started < 10
    assert gateway.cache.local_stats()["ohlcv"]["redis"].get("stale") == 1


async def test_with_nothing_cached_a_slow_read_fails_clearly_and_its_late_answer_is_kept(
    make_gateway: Factory, sim: SimServer
) -> None:
    gateway = make_gateway(exchange_read_deadline_s=0.3, exchange_retries=0)
    await gateway.symbols()
    sim.admin("PUT", "/latency", json={"latency_ms": 1_500})
    sim.admin("POST", "/stats/reset")
    started = time.monotonic()
    with pytest.raises(SlowExchangeError, match=r"did not answer within 0\.3 s"):
        await gateway.ohlcv(BTC, "4h", 10)
    assert time.monotonic() - started < 1.4  # well before the exchange's own answer
    key = "4h:200"
    assert await eventually(lambda: gateway.cache.peek(Tier.OHLCV, key, symbol=BTC), 20)  # stored when it came
    sim.admin("PUT", "/latency", json={"latency_ms": 0})
    assert len(await gateway.ohlcv(BTC, "4h", 10)) == 10
    assert sim.requests(KLINES) == 1  # the late answer served the next reader
