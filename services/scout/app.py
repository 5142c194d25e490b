"""scout as a service: the scan loop, the prefetch worker, and GET /scans/latest."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, HTTPException, Request

from services.scout.prefetch import Prefetcher
from services.scout.scanner import LATEST_SCAN, ScanLoop, Scanner
from services.scout.settings import ScoutSettings
from shared.gateway import MarketDataGateway
from shared.runtime import Runtime

router = APIRouter(tags=["scout"])


@router.get("/scans/latest")
async def latest_scan(request: Request) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    raw = await runtime.redis.get(LATEST_SCAN)
    if raw is None:
        raise HTTPException(404, "no scan has completed yet")
    report: dict[str, Any] = orjson.loads(raw)
    return report


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
    app = runtime.app([router], title="scout")
    app.state.scanner = scanner
    app.state.scan_loop = loop
    return app
