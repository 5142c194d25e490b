"""The simulator's admin API: counters, fault injection, latency, rate limits, clock, listings, reset.

Everything that changes the simulator needs the admin token (``ADMIN_TOKEN``); reading the request
counters does not, so benchmarks and dashboards can count upstream calls.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from services.exchange_sim.faults import FaultKind, FaultSpec
from services.exchange_sim.web import SimState
from shared.auth import ADMIN
from shared.deps import provided
from shared.problems import problems

router = APIRouter(prefix="/admin", tags=["simulator admin"])
SimDep = Annotated[SimState, Depends(provided(SimState))]
GUARDED = problems(401, 403)
GUARDED_WITH_BODY = problems(400, 401, 403, 422)
TEN_YEARS_MS = 10 * 365 * 86_400_000


class LatencySettings(BaseModel):
    latency_ms: float = Field(ge=0, le=60_000, description="added to every BingX request")
    jitter_ms: float = Field(0.0, ge=0, le=60_000, description="plus or minus this much, at random")


class RateLimitSettings(BaseModel):
    enabled: bool = Field(True, description="refuse requests over the budget with BingX's code 100410")
    per_s: float = Field(10.0, gt=0, le=100_000, description="request weight refilled per second, per client")
    burst: float = Field(20.0, gt=0, le=100_000, description="request weight a client may spend at once")


class ClockOffset(BaseModel):
    offset_ms: int = Field(0, ge=-TEN_YEARS_MS, le=TEN_YEARS_MS, description="the clock's offset from wall time")
    frozen_at_ms: int | None = Field(None, ge=0, description="stop the clock at this time (tests)")


class ClockAdvance(BaseModel):
    ms: int = Field(gt=0, le=TEN_YEARS_MS, description="move the clock forward by this much")


class Listing(BaseModel):
    symbol: str = Field(min_length=3, max_length=40, description="exchange id, e.g. BTC-USDT")
    listed_at_ms: int = Field(ge=0, description="when it was listed: no candle or funding rate before")


class FaultView(BaseModel):
    kind: FaultKind = Field(description="what the fault does")
    until: float | None = Field(description="when it ends (seconds since the epoch); null: by count or chance")
    probability: float = Field(description="share of matching requests it hits")


class SimStats(BaseModel):
    requests: dict[str, int] = Field(description="BingX requests by path, since the last reset")
    total: int = Field(description="every BingX request since the last reset")
    outcomes: dict[str, int] = Field(description="by outcome: ok, error, rate_limited, injected faults...")
    faults: list[FaultView] = Field(description="the faults in force")


class Done(BaseModel):
    reset: Literal[True] = Field(True, description="always true")


class Injected(BaseModel):
    injected: FaultSpec = Field(description="the fault now in force")


class Cleared(BaseModel):
    cleared: Literal[True] = Field(description="always true: no fault is in force")


class ClockView(BaseModel):
    offset_ms: int = Field(description="the clock's offset from wall time")
    frozen_at_ms: int | None = Field(description="the instant it is frozen at, or null when it runs")
    now_ms: int = Field(description="the simulator's time now")


@router.get("/stats")
async def stats(sim: SimDep) -> SimStats:
    return SimStats.model_validate(sim.controls.stats())


@router.post("/stats/reset", dependencies=ADMIN, responses=GUARDED)
async def reset_stats(sim: SimDep) -> Done:
    sim.controls.reset_counts()
    return Done()


@router.post("/faults", dependencies=ADMIN, responses=GUARDED_WITH_BODY)
async def inject_fault(sim: SimDep, fault: FaultSpec) -> Injected:
    sim.controls.inject(fault)
    return Injected(injected=fault)


@router.delete("/faults", dependencies=ADMIN, responses=GUARDED)
async def clear_faults(sim: SimDep) -> Cleared:
    sim.controls.clear_faults()
    return Cleared(cleared=True)


@router.put("/latency", dependencies=ADMIN, responses=GUARDED_WITH_BODY)
async def set_latency(sim: SimDep, body: LatencySettings) -> LatencySettings:
    sim.controls.latency_ms, sim.controls.jitter_ms = body.latency_ms, body.jitter_ms
    return body


@router.put("/rate-limit", dependencies=ADMIN, responses=GUARDED_WITH_BODY)
async def set_rate_limit(sim: SimDep, body: RateLimitSettings) -> RateLimitSettings:
    controls = sim.controls
    controls.limits_on, controls.rate, controls.burst = body.enabled, body.per_s, body.burst
    controls._buckets.clear()
    return body


def _clock_view(sim: SimState) -> ClockView:
    return ClockView(offset_ms=sim.clock.offset_ms, frozen_at_ms=sim.clock.frozen_ms, now_ms=sim.clock())


@router.post("/clock", dependencies=ADMIN, responses=GUARDED_WITH_BODY)
async def shift_clock(sim: SimDep, body: ClockOffset) -> ClockView:
    """Set the clock's offset from wall time, or freeze it at an instant. Accounts are brought up to
    the new time at once; a clock set back does not rewind them (see exchange.py)."""
    sim.clock.offset_ms, sim.clock.frozen_ms = body.offset_ms, body.frozen_at_ms
    sim.exchange.advance_all(sim.clock())
    return _clock_view(sim)


@router.post("/clock/advance", dependencies=ADMIN, responses=GUARDED_WITH_BODY)
async def advance_clock(sim: SimDep, body: ClockAdvance) -> ClockView:
    """Move the clock forward by ``ms`` (a frozen clock stays frozen, at the later time), and evaluate
    every account up to it: triggers, fills, liquidations and funding happen at their own instants."""
    if sim.clock.frozen_ms is not None:
        sim.clock.frozen_ms += body.ms
    else:
        sim.clock.offset_ms += body.ms
    sim.exchange.advance_all(sim.clock())
    return _clock_view(sim)


@router.put("/listing", dependencies=ADMIN, responses=problems(400, 401, 403, 404, 422))
async def set_listing(sim: SimDep, body: Listing) -> Listing:
    """Set when a symbol was listed: no candle or funding rate before it."""
    if body.symbol not in sim.market.by_id:
        raise HTTPException(404, f"unknown symbol {body.symbol}")
    sim.listings.set(body.symbol, body.listed_at_ms)
    return body


@router.post("/reset", dependencies=ADMIN, responses=GUARDED)
async def reset(sim: SimDep) -> Done:
    sim.exchange.reset()
    sim.listings.reset()
    sim.controls.clear_faults()
    sim.controls.reset_counts()
    sim.clock.reset()
    return Done()
