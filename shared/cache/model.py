"""What the cache stores and how it is configured: tiers, their policies, and one stored entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from shared.settings import ServiceSettings


class Tier(StrEnum):
    PRICE = "price"
    OHLCV = "ohlcv"
    MARKET = "market"
    TECHNICAL = "technical"
    GLOBAL = "global"


@dataclass(frozen=True)
class TierPolicy:
    fresh_s: float
    stale_s: float


@dataclass(frozen=True)
class CacheConfig:
    tiers: dict[Tier, TierPolicy]
    prefix: str = "tp"
    l1_max_entries: int = 10_000
    l1_ttl_s: float = 2.0
    lock_ttl_s: float = 2.0  # the fill lock's lease, renewed while the fetch runs
    fill_wait_s: float = 30.0  # the longest a caller waits for another holder's fill

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> CacheConfig:
        fresh = {
            Tier.PRICE: settings.cache_ttl_price_s,
            Tier.OHLCV: settings.cache_ttl_ohlcv_s,
            Tier.MARKET: settings.cache_ttl_market_s,
            Tier.TECHNICAL: settings.cache_ttl_technical_s,
            Tier.GLOBAL: settings.cache_ttl_global_s,
        }
        return cls(
            tiers={tier: TierPolicy(ttl, ttl * settings.cache_stale_factor) for tier, ttl in fresh.items()},
            prefix=settings.cache_key_prefix,
            l1_max_entries=settings.cache_l1_max_entries,
            l1_ttl_s=settings.cache_l1_ttl_s,
            lock_ttl_s=settings.cache_lock_ttl_s,
            fill_wait_s=settings.cache_fill_wait_s,
        )


@dataclass(frozen=True)
class Entry:
    """One cached value, stored as the compact JSON array ``[fresh_until_ms, fetched_at_ms, value]``."""

    fresh_until: float
    fetched_at: float
    value: Any

    def is_fresh(self, now: float) -> bool:
        return now < self.fresh_until

    def encode(self) -> bytes:
        return orjson.dumps([int(self.fresh_until * 1000), int(self.fetched_at * 1000), self.value])

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        fresh_ms, fetched_ms, value = orjson.loads(raw)
        return cls(fresh_ms / 1000, fetched_ms / 1000, value)


# Turns a loaded value into the form kept in L1 and returned (once per load, not once per read).
Shape = Callable[[Any], Any]


def as_is(value: Any) -> Any:
    return value


Fetch = Callable[[], Awaitable[Any]]
# Given the stale value and the time now, the new value: e.g. only the candles that closed since, merged.
Refresh = Callable[[Any, float], Awaitable[Any]]
# Given a new value and the time now, until when it is fresh: e.g. its last candle's close.
FreshUntil = Callable[[Any, float], float]


@dataclass(frozen=True)
class Source:
    """Where a key's value comes from, and how long a loaded value stays fresh."""

    fetch: Fetch
    shape: Shape = as_is
    refresh: Refresh | None = None  # used instead of ``fetch`` when a stale copy exists
    fresh_until: FreshUntil | None = None  # default: the tier's fresh TTL

    async def load(self, stale: Entry | None, now: float) -> Any:
        if stale is not None and self.refresh is not None:
            return await self.refresh(stale.value, now)
        return await self.fetch()


def shaped(entry: Entry, shape: Shape) -> Entry:
    return entry if shape is as_is else Entry(entry.fresh_until, entry.fetched_at, shape(entry.value))


def symbol_part(symbol: str | None) -> str:
    return symbol if symbol else "_"
