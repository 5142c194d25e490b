"""Everything monitor reports, gathered in one place: cache, pipeline, services, trading."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis

from services.monitor.advice import Thresholds, assess
from services.monitor.health import services_health
from services.monitor.history import History
from services.monitor.pipeline import pipeline_figures
from shared.cache import TieredCache
from shared.periodic import Periodic
from shared.trading_state import read_snapshot

log = logging.getLogger(__name__)


@dataclass
class Sources:
    redis: Redis
    cache: TieredCache
    http: httpx.AsyncClient
    service_urls: dict[str, str]
    thresholds: Thresholds


def data_reuse(cache_stats: dict[str, Any]) -> float:
    """Share of OHLCV and technical reads answered without an exchange call: data one stage fetched
    and a later stage (or replica) reused."""
    tiers = cache_stats.get("tiers", {})
    requests = sum(tiers.get(t, {}).get("requests", 0) for t in ("ohlcv", "technical"))
    upstream = sum(tiers.get(t, {}).get("upstream_calls", 0) for t in ("ohlcv", "technical"))
    return round(1 - upstream / requests, 6) if requests else 0.0


async def trading_figures(redis: Redis) -> dict[str, Any]:
    snapshot = await read_snapshot(redis)
    return {
        "equity": snapshot.equity,
        "drawdown": snapshot.drawdown,
        "daily_loss": snapshot.daily_loss,
        "open_positions": len(snapshot.positions),
        "exposure": snapshot.exposure,
        "halt": snapshot.halt_reason,
        "kill_switch": snapshot.kill_reason,
    }


async def gather(sources: Sources) -> dict[str, Any]:
    cache, pipeline, services, trading = await asyncio.gather(
        sources.cache.stats(),
        pipeline_figures(sources.redis),
        services_health(sources.http, sources.service_urls),
        trading_figures(sources.redis),
    )
    figures: dict[str, Any] = {
        "at": time.time(),
        "cache": cache,
        "pipeline": pipeline,
        "services": services,
        "trading": trading,
        "data_reuse": data_reuse(cache),
    }
    figures["alerts"] = [a.__dict__ for a in assess(figures, sources.thresholds)]
    return figures


def sample_of(figures: dict[str, Any]) -> dict[str, Any]:
    """The few numbers kept every minute for 24 h."""
    overall = figures["cache"]["overall"]
    return {
        "hit_rate": overall["hit_rate"],
        "upstream_calls": overall["upstream_calls"],
        "cache_requests": overall["requests"],
        "stale_served": overall["stale_served"],
        "data_reuse": figures["data_reuse"],
        "max_lag": figures["pipeline"]["max_lag"],
        "dead_letters": figures["pipeline"]["dead_letters"]["total"],
        "equity": figures["trading"]["equity"],
        "drawdown": figures["trading"]["drawdown"],
        "services_ready": sum(1 for s in figures["services"].values() if s["status"] == "ready"),
        "alerts": len(figures["alerts"]),
    }


class HistorySampler(Periodic):
    """Records a sample every ``interval_s``; the history trims itself to 24 h."""

    name = "history-sampler"

    def __init__(self, sources: Sources, history: History, *, interval_s: float) -> None:
        super().__init__(interval_s)
        self._sources = sources
        self._history = history

    async def sample_now(self) -> dict[str, Any]:
        figures = await gather(self._sources)
        await self._history.record(sample_of(figures))
        return figures

    async def step(self) -> None:
        await self.sample_now()
