"""monitor's HTTP API: the original system's performance endpoints, pipeline figures, the live feed.

The paths are the original's, so its documented curl commands keep working on port 8001.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, Field, model_validator

from services.monitor.figures import HistorySampler, Sources, gather
from services.monitor.history import History, calls_per_hour, trend
from services.monitor.performance import PerfGuard, benchmark, expected_calls, performance_test
from services.monitor.pipeline import pipeline_figures
from shared.auth import admin_guard, bearer, token_matches
from shared.cache import Tier

router = APIRouter(prefix="/api/system", tags=["performance"])
feed_router = APIRouter(tags=["feed"])


class InvalidateRequest(BaseModel):
    scope: Literal["all", "tier", "symbol"] = "all"
    tier: Tier | None = None
    symbol: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _scope_has_its_argument(self) -> InvalidateRequest:
        if self.scope == "tier" and self.tier is None:
            raise ValueError("scope 'tier' needs a tier (price, ohlcv, market, technical, global)")
        if self.scope == "symbol" and self.symbol is None:
            raise ValueError("scope 'symbol' needs a symbol, e.g. BTC/USDT:USDT")
        return self


def _sources(request: Request) -> Sources:
    sources: Sources = request.app.state.sources
    return sources


@router.get("/performance/cache-stats")
async def cache_stats(request: Request) -> dict[str, Any]:
    return await _sources(request).cache.stats()


@router.get("/performance/summary")
async def summary(request: Request) -> dict[str, Any]:
    history: History = request.app.state.history
    sampler: HistorySampler = request.app.state.sampler
    current = await sampler.sample_now()
    samples = await history.window()
    return {
        "window_hours": history.retention_s / 3600,
        "samples": len(samples),
        "trends": {
            field: trend(samples, field) for field in ("hit_rate", "data_reuse", "max_lag", "equity", "drawdown")
        },
        "upstream_calls_per_hour": calls_per_hour(samples),
        "current": {
            "cache": current["cache"]["overall"],
            "data_reuse": current["data_reuse"],
            "pipeline": {k: current["pipeline"][k] for k in ("max_lag", "max_pending")},
            "dead_letters": current["pipeline"]["dead_letters"]["total"],
            "trading": current["trading"],
        },
        "alerts": current["alerts"],
        "recommendations": [a["recommendation"] for a in current["alerts"]] or ["no action needed"],
    }


@router.post("/performance/invalidate-cache", dependencies=[Depends(admin_guard())])
async def invalidate_cache(request: Request, body: InvalidateRequest | None = None) -> dict[str, Any]:
    body = body or InvalidateRequest()
    cache = _sources(request).cache
    deleted = await cache.invalidate(tier=body.tier if body.scope == "tier" else None, symbol=body.symbol)
    return {"invalidated": deleted, "scope": body.scope, "tier": body.tier, "symbol": body.symbol}


@router.get("/optimization-status")
async def optimization_status(request: Request) -> dict[str, Any]:
    sources = _sources(request)
    try:
        redis_ok = bool(await asyncio.wait_for(sources.redis.ping(), 2))
    except Exception:
        redis_ok = False
    if not redis_ok:
        raise HTTPException(503, "redis unreachable")
    figures = await gather(sources)
    return {
        "status": "degraded" if figures["alerts"] else "optimal",
        "redis": {"status": "ready"},
        "services": figures["services"],
        "optimizations": {
            "shared_cache": {"hit_rate": figures["cache"]["overall"]["hit_rate"]},
            "single_flight": {
                "joins": sum(t["redis"]["joins"] + t["l1"]["joins"] for t in figures["cache"]["tiers"].values())
            },
            "stale_fallback": {"stale_served": figures["cache"]["overall"]["stale_served"]},
            "pipeline_reuse": figures["data_reuse"],
        },
        "alerts": figures["alerts"],
    }


@router.get("/pipeline")
async def pipeline(request: Request) -> dict[str, Any]:
    return await pipeline_figures(_sources(request).redis)


def _feed_refusal(websocket: WebSocket) -> str | None:
    """Why this client may not read the feed, or None: a read token, and an allowed origin for browsers."""
    settings = websocket.app.state.settings
    origin = websocket.headers.get("origin")
    if origin is not None and origin not in settings.feed_allowed_origins:
        return f"origin {origin[:100]} is not allowed (FEED_ALLOWED_ORIGINS)"
    expected = settings.feed_token or settings.admin_token
    if expected is None:
        return "the feed is closed: set FEED_TOKEN"
    given = websocket.query_params.get("token") or bearer(websocket.headers.get("authorization"))
    return None if token_matches(given, expected) else "a valid feed token is required (?token= or Bearer)"


@feed_router.websocket("/ws/feed")
async def live_feed(websocket: WebSocket) -> None:
    hub = websocket.app.state.hub
    refusal = _feed_refusal(websocket)
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


def _is_admin(request: Request) -> bool:
    given = request.headers.get("x-admin-token") or bearer(request.headers.get("authorization"))
    return token_matches(given, request.app.state.settings.admin_token)


async def _admit(request: Request, *, baseline: bool) -> int:
    count: int = request.app.state.settings.perf_test_symbols
    guard: PerfGuard = request.app.state.perf_guard
    client = request.client.host if request.client else "unknown"
    endpoint = "benchmark" if baseline else "test"
    await guard.admit(endpoint, client, expected_calls(count, baseline=baseline), admin=_is_admin(request))
    return count


PERF_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "this client ran one recently, or the budget set aside for tests is spent"}
}


@router.get("/performance/test", responses=PERF_LIMITED)
async def performance_test_endpoint(request: Request) -> dict[str, Any]:
    count = await _admit(request, baseline=False)
    return await performance_test(request.app.state.runtime.gateway, count)


@router.get("/performance/benchmark", responses=PERF_LIMITED)
async def benchmark_endpoint(request: Request) -> dict[str, Any]:
    count = await _admit(request, baseline=True)
    return await benchmark(request.app.state.runtime.gateway, count)
