"""One rate-limit budget per exchange account, shared by every service and replica through Redis.

A token bucket kept in a Redis hash and updated by a Lua script using Redis's own clock, so all
processes draw from the same budget without clock skew. A call that finds the bucket short learns
how long to wait; it sleeps and asks again, up to ``max_wait_s``.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Counter, Histogram
from redis.asyncio import Redis

from shared import metrics
from shared.errors import TransientExchangeError

LIMITER_WAIT = Histogram(
    metrics.name("exchange_limiter_wait_seconds"),
    "Time spent waiting for rate-limit budget",
    buckets=metrics.LATENCY_BUCKETS,
)
LIMITER_DENIED = Counter(
    metrics.name("exchange_limiter_denied_total"), "Calls refused after waiting max_wait_s for budget"
)

# KEYS[1] bucket hash; ARGV rate (tokens/s), burst, weight. Returns 0 when granted, else ms to wait.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate, burst, weight = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now_ms
tokens = math.min(burst, tokens + (now_ms - ts) * rate / 1000)
local wait = 0
if tokens >= weight then
  tokens = tokens - weight
else
  wait = math.ceil((weight - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now_ms))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
"""


class DistributedRateLimiter:
    def __init__(self, redis: Redis, *, key: str, rate_per_s: float, burst: float, max_wait_s: float) -> None:
        if burst < 1:
            raise ValueError("burst must allow at least one call")
        self.redis = redis
        self._key = key
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_wait_s = max_wait_s
        self._take = redis.register_script(_TAKE)

    async def acquire(self, weight: float = 1.0) -> float:
        """Wait until ``weight`` tokens are granted; returns the seconds waited."""
        started = time.monotonic()
        while True:
            wait_ms = int(await self._take(keys=[self._key], args=[self.rate_per_s, self.burst, weight]))
            waited = time.monotonic() - started
            if wait_ms == 0:
                LIMITER_WAIT.observe(waited)
                return waited
            if waited + wait_ms / 1000 > self.max_wait_s:
                LIMITER_DENIED.inc()
                raise TransientExchangeError(f"rate-limit budget exhausted: would wait over {self.max_wait_s:.1f} s")
            await asyncio.sleep(wait_ms / 1000)
