"""monitor as a service (port 8001): performance endpoints, pipeline figures, history, live feed."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.monitor.advice import Thresholds
from services.monitor.feed import FeedHub, feed_consumers
from services.monitor.figures import HistorySampler, Sources
from services.monitor.history import History
from services.monitor.journal_routes import history_router
from services.monitor.performance import PerfGuard
from services.monitor.routes import feed_router, router
from services.monitor.settings import MonitorSettings
from shared.bus import ConsumerConfig
from shared.gateway import MarketDataGateway
from shared.journal.web import reader_engine
from shared.runtime import Runtime


def build_app(settings: MonitorSettings, *, gateway: MarketDataGateway | None = None) -> FastAPI:
    runtime = Runtime.build(settings, gateway=gateway)
    http = httpx.AsyncClient()
    thresholds = Thresholds(
        hit_rate_below=settings.alert_hit_rate_below,
        lag_above=settings.alert_consumer_lag_above,
        pending_above=settings.alert_pending_above,
    )
    sources = Sources(runtime.redis, runtime.cache, http, settings.service_urls, thresholds)
    history = History(runtime.redis, retention_s=settings.history_retention_s)
    sampler = HistorySampler(sources, history, interval_s=settings.history_interval_s)
    hub = FeedHub(settings.feed_client_queue)
    runtime.components.extend(feed_consumers(runtime.redis, hub, ConsumerConfig.from_settings(settings)))
    runtime.components.append(sampler)
    runtime.on_shutdown.append(http.aclose)
    journal = reader_engine(settings)  # the history endpoints read the journal
    runtime.on_shutdown.append(journal.dispose)
    guard = PerfGuard(
        runtime.redis,
        exchange_rate_per_s=settings.exchange_rate_per_s,
        share=settings.perf_budget_share,
        client_interval_s=settings.perf_client_interval_s,
        symbols=settings.perf_test_symbols,
    )
    return runtime.app(
        [router, feed_router, history_router],
        title="monitor",
        provides=[journal, sources, history, sampler, hub, guard],
    )
