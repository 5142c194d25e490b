"""Upstreams and clocks for the cache tests: each under the test's control, none timed."""

from __future__ import annotations

import asyncio
import time

from shared.cache import CacheConfig, Tier, TierPolicy


class FakeClock:
    """Cache time under the test's control (Redis TTLs still run on the wall clock)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


class Upstream:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls = 0
        self.delay_s = delay_s
        self.failing: Exception | None = None

    async def fetch(self, value: object) -> object:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.failing is not None:
            raise self.failing
        return value


class GatedUpstream:
    """An upstream whose calls answer (or fail) only when the test opens the gate."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.failing: Exception | None = None

    async def fetch(self, value: object) -> object:
        self.calls += 1
        await self.gate.wait()
        if self.failing is not None:
            raise self.failing
        return value


def make_config(
    fresh_s: float = 30.0, stale_s: float = 300.0, l1_ttl_s: float = 2.0, lock_ttl_s: float = 2.0
) -> CacheConfig:
    return CacheConfig(tiers={t: TierPolicy(fresh_s, stale_s) for t in Tier}, l1_ttl_s=l1_ttl_s, lock_ttl_s=lock_ttl_s)
