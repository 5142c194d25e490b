"""scout as a service: the scan loop, the prefetch worker, and GET /scans/latest (routes.py)."""

from __future__ import annotations

from fastapi import FastAPI

from services.scout.prefetch import Prefetcher
from services.scout.routes import router
from services.scout.scanner import ScanLoop, Scanner
from services.scout.settings import ScoutSettings
from shared.gateway import MarketDataGateway
from shared.runtime import Runtime


def build_scanner(settings: ScoutSettings, runtime: Runtime) -> Scanner:
    """The scanner as the service runs it (the benchmarks too), with its prefetch worker when enabled."""
    prefetcher = None
    if settings.scout_prefetch:
        prefetcher = Prefetcher(
            settings,
            runtime.gateway,
            timeframes=settings.scout_prefetch_timeframes,
            candles=settings.scout_prefetch_candles,
            period_s=settings.scan_interval_s,
        )
        runtime.components.append(prefetcher)
    return Scanner(settings, runtime.redis, runtime.gateway, runtime.publisher, prefetcher)


def build_app(settings: ScoutSettings, *, gateway: MarketDataGateway | None = None) -> FastAPI:
    runtime = Runtime.build(settings, gateway=gateway)
    scanner = build_scanner(settings, runtime)
    loop = ScanLoop(scanner, runtime.redis, settings.scan_interval_s)
    runtime.components.append(loop)
    return runtime.app([router], title="scout")
