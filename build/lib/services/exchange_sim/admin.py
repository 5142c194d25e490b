"""The simulator's admin API: counters, fault injection, latency, rate limits, clock, reset.

Everything that changes the simulator needs the admin token (``ADMIN_TOKEN``); reading the request
counters does not, so benchmarks and dashboards can count upstream calls.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.exchange_sim.api import SimState
from services.exchange_sim.faults import FaultSpec
from shared.auth import admin_guard

router = APIRouter(prefix="/admin", tags=["simulator admin"])
guarded = [Depends(admin_guard())]


class LatencySettings(BaseModel):
    latency_ms: float = Field(ge=0, le=60_000)
    jitter_ms: float = Field(0.0, ge=0, le=60_000)


class RateLimitSettings(BaseModel):
    enabled: bool = True
    per_s: float = Field(10.0, gt=0, le=100_000)
    burst: float = Field(20.0, gt=0, le=100_000)


class ClockOffset(BaseModel):
    offset_ms: int = Field(0, ge=-10 * 365 * 86_400_000, le=10 * 365 * 86_400_000)
    frozen_at_ms: int | None = Field(None, ge=0, description="stop the clock at this time (tests)")


def _sim(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    return _sim(request).controls.stats()


@router.post("/stats/reset", dependencies=guarded)
async def reset_stats(request: Request) -> dict[str, Any]:
    _sim(request).controls.reset_counts()
    return {"reset": True}


@router.post("/faults", dependencies=guarded)
async def inject_fault(request: Request, fault: FaultSpec) -> dict[str, Any]:
    _sim(request).controls.inject(fault)
    return {"injected": fault.model_dump()}


@router.delete("/faults", dependencies=guarded)
async def clear_faults(request: Request) -> dict[str, Any]:
    _sim(request).controls.clear_faults()
    return {"cleared": True}


@router.put("/latency", dependencies=guarded)
async def set_latency(request: Request, body: LatencySettings) -> dict[str, Any]:
    controls = _sim(request).controls
    controls.latency_ms, controls.jitter_ms = body.latency_ms, body.jitter_ms
    return body.model_dump()


@router.put("/rate-limit", dependencies=guarded)
async def set_rate_limit(request: Request, body: RateLimitSettings) -> dict[str, Any]:
    controls = _sim(request).controls
    controls.limits_on, controls.rate, controls.burst = body.enabled, body.per_s, body.burst
    controls._buckets.clear()
    return body.model_dump()


@router.post("/clock", dependencies=guarded)
async def shift_clock(request: Request, body: ClockOffset) -> dict[str, Any]:
    request.app.state.clock_offset_ms = body.offset_ms
    request.app.state.clock_frozen_ms = body.frozen_at_ms
    return {"offset_ms": body.offset_ms, "frozen_at_ms": body.frozen_at_ms, "now_ms": _sim(request).clock()}


@router.post("/reset", dependencies=guarded)
async def reset(request: Request) -> dict[str, Any]:
    sim = _sim(request)
    sim.exchange.reset()
    sim.controls.clear_faults()
    sim.controls.reset_counts()
    request.app.state.clock_offset_ms = 0
    request.app.state.clock_frozen_ms = None
    return {"reset": True}
