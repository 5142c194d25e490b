"""monitor's HTTP API: the original system's performance endpoints, pipeline figures, the live feed.

The paths are the original's, so its documented curl commands keep working on port 8001.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, Field, model_validator

from services.monitor.deps import HistoryDep, HubDep, PerfGuardDep, SamplerDep, SettingsDep, SourcesDep
from services.monitor.figures import gather
from services.monitor.history import calls_per_hour, trend
from services.monitor.performance import PerfGuard, benchmark, expected_calls, performance_test
from services.monitor.pipeline import pipeline_figures
from services.monitor.schemas import (
    Benchmark,
    CacheStats,
    Invalidated,
    OptimizationStatus,
    PerfTest,
    PipelineFigures,
    Summary,
)
from services.monitor.settings import MonitorSettings
from shared.auth import ADMIN, bearer, token_matches
from shared.cache import Tier
from shared.problems import problems
from shared.runtime import RuntimeDep

router = APIRouter(prefix="/api/system", tags=["performance"])
feed_router = APIRouter(tags=["feed"])
REDIS_DOWN = problems(503)


class InvalidateRequest(BaseModel):
    scope: Literal["all", "tier", "symbol"] = Field("all", description="everything, one tier, or one symbol")
    tier: Tier | None = Field(None, description="the tier, for scope tier")
    symbol: str | None = Field(
        default=None, min_length=1, max_length=40, description="the symbol, e.g. BTC/USDT:USDT, for scope symbol"
    )

    @model_validator(mode="after")
    def _scope_has_its_argument(self) -> InvalidateRequest:
        if self.scope == "tier" and self.tier is None:
            raise ValueError("scope 'tier' needs a tier (price, ohlcv, market, technical, global)")
        if self.scope == "symbol" and self.symbol is None:
            raise ValueError("scope 'symbol' needs a symbol, e.g. BTC/USDT:USDT")
        return self


@router.get("/performance/cache-stats", responses=REDIS_DOWN)
async def cache_stats(sources: SourcesDep) -> CacheStats:
    return CacheStats.model_validate(await sources.cache.stats())


@router.get("/performance/summary", responses=REDIS_DOWN)
async def summary(history: HistoryDep, sampler: SamplerDep) -> Summary:
    current = await sampler.sample_now()
    samples = await history.window()
    return Summary.model_validate(
        {
            "window_hours": history.retention_s / 3600,
            "samples": len(samples),
            "trends": {
                field: trend(samples, field) for field in ("hit_rate", "data_reuse", "max_lag", "equity", "drawdown")
            },
            "upstream_calls_per_hour": calls_per_hour(samples),
            "current": {
                "cache": current["cache"]["overall"],
                "data_reuse": current["data_reuse"],
                "pipeline": current["pipeline"],
                "dead_letters": current["pipeline"]["dead_letters"]["total"],
                "trading": current["trading"],
            },
            "alerts": current["alerts"],
            "recommendations": [a["recommendation"] for a in current["alerts"]] or ["no action needed"],
        }
    )


@router.post("/performance/invalidate-cache", dependencies=ADMIN, responses=problems(400, 401, 403, 422, 503))
async def invalidate_cache(sources: SourcesDep, body: InvalidateRequest | None = None) -> Invalidated:
    body = body or InvalidateRequest()
    deleted = await sources.cache.invalidate(tier=body.tier if body.scope == "tier" else None, symbol=body.symbol)
    return Invalidated(invalidated=deleted, scope=body.scope, tier=body.tier, symbol=body.symbol)


@router.get("/optimization-status", responses=REDIS_DOWN)
async def optimization_status(sources: SourcesDep) -> OptimizationStatus:
    try:
        redis_ok = bool(await asyncio.wait_for(sources.redis.ping(), 2))
    except Exception:
        redis_ok = False
    if not redis_ok:
        raise HTTPException(503, "redis unreachable")
    figures = await gather(sources)
    tiers = figures["cache"]["tiers"].values()
    return OptimizationStatus.model_validate(
        {
            "status": "degraded" if figures["alerts"] else "optimal",
            "redis": {"status": "ready"},
            "services": figures["services"],
            "optimizations": {
                "shared_cache": {"hit_rate": figures["cache"]["overall"]["hit_rate"]},
                "single_flight": {"joins": sum(t["redis"]["joins"] + t["l1"]["joins"] for t in tiers)},
                "stale_fallback": {"stale_served": figures["cache"]["overall"]["stale_served"]},
                "pipeline_reuse": figures["data_reuse"],
            },
            "alerts": figures["alerts"],
        }
    )


@router.get("/pipeline", responses=REDIS_DOWN)
async def pipeline(sources: SourcesDep) -> PipelineFigures:
    return PipelineFigures.model_validate(await pipeline_figures(sources.redis))


def _feed_refusal(websocket: WebSocket, settings: MonitorSettings) -> str | None:
    """Why this client may not read the feed, or None: a read token, and an allowed origin for browsers."""
    origin = websocket.headers.get("origin")
    if origin is not None and origin not in settings.feed_allowed_origins:
        return f"origin {origin[:100]} is not allowed (FEED_ALLOWED_ORIGINS)"
    expected = settings.feed_token or settings.admin_token
    if expected is None:
        return "the feed is closed: set FEED_TOKEN"
    given = websocket.query_params.get("token") or bearer(websocket.headers.get("authorization"))
    return None if token_matches(given, expected) else "a valid feed token is required (?token= or Bearer)"


@feed_router.websocket("/ws/feed")
async def live_feed(websocket: WebSocket, settings: SettingsDep, hub: HubDep) -> None:
    refusal = _feed_refusal(websocket, settings)
    if refusal is not None:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=refusal)
        return
    await websocket.accept()
    queue = hub.subscribe()
    try:
        for event in hub.recent[-20:]:
            await websocket.send_json(event)
        while True:
            await websocket.send_json(await queue.get())
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(queue)
        with contextlib.suppress(Exception):
            await websocket.close()


async def _admit(request: Request, settings: MonitorSettings, guard: PerfGuard, *, baseline: bool) -> int:
    count = settings.perf_test_symbols
    given = request.headers.get("x-admin-token") or bearer(request.headers.get("authorization"))
    client = request.client.host if request.client else "unknown"
    endpoint = "benchmark" if baseline else "test"
    admin = token_matches(given, settings.admin_token)
    await guard.admit(endpoint, client, expected_calls(count, baseline=baseline), admin=admin)
    return count


PERF_LIMITED = problems(429, 503)


@router.get("/performance/test", responses=PERF_LIMITED)
async def performance_test_endpoint(
    request: Request, settings: SettingsDep, guard: PerfGuardDep, runtime: RuntimeDep
) -> PerfTest:
    count = await _admit(request, settings, guard, baseline=False)
    return PerfTest.model_validate(await performance_test(runtime.gateway, count))


@router.get("/performance/benchmark", responses=PERF_LIMITED)
async def benchmark_endpoint(
    request: Request, settings: SettingsDep, guard: PerfGuardDep, runtime: RuntimeDep
) -> Benchmark:
    count = await _admit(request, settings, guard, baseline=True)
    return Benchmark.model_validate(await benchmark(runtime.gateway, count))
