"""What the history commands need from the settings: a gateway (its Redis budget and cache), and where
history lives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse

from shared.cache import CacheConfig, TieredCache
from shared.gateway import MarketDataGateway
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


def default_history_dir(settings: ServiceSettings) -> Path:
    return Path(settings.data_dir) / "history"


def exchange_name(settings: ServiceSettings) -> str:
    """The history folder of the exchange the settings point at: ``bingx``, or ``bingx-127.0.0.1-8020`` for
    another base URL (a simulator's candles never mix with the real exchange's)."""
    if not settings.exchange_base_url:
        return settings.exchange_id
    url = urlparse(settings.exchange_base_url)
    return f"{settings.exchange_id}-{url.hostname}-{url.port or 443}"


@asynccontextmanager
async def gateway_for(settings: ServiceSettings) -> AsyncIterator[MarketDataGateway]:
    redis = create_redis(settings)
    cache = TieredCache(redis, CacheConfig.from_settings(settings))
    gateway = MarketDataGateway(settings, redis, cache)
    try:
        yield gateway
    finally:
        await gateway.close()
        await cache.stop()
        await redis.aclose()
