"""The simulator's admin API: counters, fault injection, latency, rate limits, clock, listings, reset.

Everything that changes the simulator needs the admin token (``ADMIN_TOKEN``); reading the request
counters does not, so benchmarks and dashboards can count upstream calls.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from services.exchange_sim.faults import FaultSpec
from services.exchange_sim.web import SimState
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


TEN_YEARS_MS = 10 * 365 * 86_400_000


class ClockOffset(BaseModel):
    offset_ms: int = Field(0, ge=-TEN_YEARS_MS, le=TEN_YEARS_MS)
    frozen_at_ms: int | None = Field(None, ge=0, description="stop the clock at this time (tests)")


class ClockAdvance(BaseModel):
    ms: int = Field(gt=0, le=TEN_YEARS_MS, description="move the clock forward by this much")


class Listing(BaseModel):
    symbol: str = Field(min_length=3, max_length=40, description="exchange id, e.g. BTC-USDT")
    listed_at_ms: int = Field(ge=0)


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


def _clock_view(request: Request) -> dict[str, Any]:
    state = request.app.state
    return {"offset_ms": state.clock_offset_ms, "frozen_at_ms": state.clock_frozen_ms, "now_ms": _sim(request).clock()}


@router.post("/clock", dependencies=guarded)
async def shift_clock(request: Request, body: ClockOffset) -> dict[str, Any]:
    """Set the clock's offset from wall time, or freeze it at an instant. Accounts are brought up to
    the new time at once; a clock set back does not rewind them (see exchange.py)."""
    request.app.state.clock_offset_ms = body.offset_ms
    request.app.state.clock_frozen_ms = body.frozen_at_ms
    sim = _sim(request)
    sim.exchange.advance_all(sim.clock())
    return _clock_view(request)


@router.post("/clock/advance", dependencies=guarded)
async def advance_clock(request: Request, body: ClockAdvance) -> dict[str, Any]:
    """Move the clock forward by ``ms`` (a frozen clock stays frozen, at the later time), and evaluate
    every account up to it: triggers, fills, liquidations and funding happen at their own instants."""
    state = request.app.state
    if state.clock_frozen_ms is not None:
        state.clock_frozen_ms += body.ms
    else:
        state.clock_offset_ms += body.ms
    sim = _sim(request)
    sim.exchange.advance_all(sim.clock())
    return _clock_view(request)


@router.put("/listing", dependencies=guarded)
async def set_listing(request: Request, body: Listing) -> dict[str, Any]:
    """Set when a symbol was listed: no candle or funding rate before it."""
    sim = _sim(request)
    if body.symbol not in sim.market.by_id:
        raise HTTPException(404, f"unknown symbol {body.symbol}")
    sim.listings.set(body.symbol, body.listed_at_ms)
    return body.model_dump()


@router.post("/reset", dependencies=guarded)
async def reset(request: Request) -> dict[str, Any]:
    sim = _sim(request)
    sim.exchange.reset()
    sim.listings.reset()
    sim.controls.clear_faults()
    sim.controls.reset_counts()
    request.app.state.clock_offset_ms = 0
    request.app.state.clock_frozen_ms = None
    return {"reset": True}
