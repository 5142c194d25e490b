"""The whole pipeline as real processes against a real Redis and the simulator (through ccxt)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import Stack
from shared.contracts import Analysis, Decision, Execution, Opportunity
from shared.keys import STREAM_ANALYSES, STREAM_DECISIONS, STREAM_EXECUTIONS, STREAM_OPPORTUNITIES
from shared.messages import StreamMessage, decode
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


@pytest.fixture
def stack(private_redis: RedisServer, sim: SimServer, tmp_path: Path) -> Iterator[Stack]:
    # Low confidence bar and one position at most: trades happen, and the position cap must bite.
    running = Stack(private_redis.url, sim.api_url, tmp_path, RISK_MIN_CONFIDENCE="0.05", RISK_MAX_OPEN_POSITIONS="1")
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


async def read(redis: Redis, stream: str, model: type[StreamMessage]) -> list[Any]:
    return [decode(fields, model) for _, fields in await redis.xrange(stream)]


async def wait_for(
    redis: Redis, stream: str, model: type[StreamMessage], check: Any, timeout_s: float = 60
) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = await read(redis, stream, model)
        if check(items):
            return items
        await asyncio.sleep(0.5)
    raise AssertionError(f"{stream} never satisfied the check")


async def check_monitor(stack: Stack) -> None:
    """The monitor's endpoints answer with figures from the running system."""
    async with httpx.AsyncClient(base_url=stack.url("monitor"), timeout=30) as client:
        stats = (await client.get("/api/system/performance/cache-stats")).json()
        assert stats["overall"]["requests"] > 0
        status = (await client.get("/api/system/optimization-status")).json()
        assert all(s["status"] == "ready" for s in status["services"].values())
        perf = (await client.get("/api/system/performance/test")).json()
        assert len(perf["symbols"]) == 8 and perf["second_read"]["upstream_calls"] == 0
        bench = (await client.get("/api/system/performance/benchmark")).json()
        assert bench["baseline"]["upstream_calls"] >= 16 > bench["optimized"]["upstream_calls"]
        summary = (await client.get("/api/system/performance/summary")).json()
        assert summary["samples"] >= 1 and summary["recommendations"]
        assert (await client.post("/api/system/performance/invalidate-cache")).status_code == 401
        headers = {"Authorization": "Bearer e2e-admin-token"}
        invalidated = await client.post(
            "/api/system/performance/invalidate-cache", json={"scope": "tier", "tier": "ohlcv"}, headers=headers
        )
        assert invalidated.status_code == 200 and invalidated.json()["invalidated"] > 0
        bad = await client.post("/api/system/performance/invalidate-cache", json={"scope": "tier"}, headers=headers)
        assert bad.status_code == 422 and "needs a tier" in bad.text


async def test_paper_trades_trace_back_and_limits_hold(stack: Stack, private_redis: RedisServer) -> None:
    redis = create_redis(ServiceSettings(redis_url=private_redis.url))
    executions = await wait_for(redis, STREAM_EXECUTIONS, Execution, lambda xs: any(x.status == "filled" for x in xs))
    filled = next(x for x in executions if x.status == "filled")

    # Traceable: execution -> decision -> analysis -> opportunity, each with its reasons.
    decisions = {d.message_id: d for d in await read(redis, STREAM_DECISIONS, Decision)}
    analyses = {a.message_id: a for a in await read(redis, STREAM_ANALYSES, Analysis)}
    opportunities = {o.message_id: o for o in await read(redis, STREAM_OPPORTUNITIES, Opportunity)}
    decision = decisions[filled.decision_id]
    analysis = analyses[decision.analysis_id]
    opportunity = opportunities[analysis.opportunity_id]
    assert decision.action == "open" and decision.reasons
    assert analysis.rationale and opportunity.reasons
    assert filled.symbol == decision.symbol == analysis.symbol == opportunity.symbol

    # The position cap (1) holds although ia2 decides in parallel.
    await wait_for(redis, STREAM_DECISIONS, Decision, lambda ds: len(ds) >= 8)
    async with httpx.AsyncClient(base_url=stack.url("execution")) as client:
        positions = (await client.get("/positions")).json()
        assert len(positions) <= 1
        all_reasons = [r for d in await read(redis, STREAM_DECISIONS, Decision) for r in d.reasons]
        orders = (await client.get("/orders", params={"limit": 1000})).json()
        refusals = [o["reason"] for o in orders if o["status"] == "rejected"]
        assert any("the maximum is 1" in r for r in all_reasons + refusals)

        # A decision delivered twice produces one order.
        before = len((await client.get("/orders", params={"limit": 1000})).json())
        fields = next(
            f for _, f in await redis.xrange(STREAM_DECISIONS) if decode(f, Decision).message_id == decision.message_id
        )
        await redis.xadd(STREAM_DECISIONS, fields)
        await asyncio.sleep(2)
        orders = (await client.get("/orders", params={"limit": 1000})).json()
        assert sum(1 for o in orders if o["decision_id"] == decision.message_id) == 1
        assert len(orders) >= before

        # A restarted execution service keeps its positions.
        held = sorted(p["symbol"] for p in (await client.get("/positions")).json())
    stack.stop("execution")  # SIGTERM: uvicorn shuts down gracefully, then re-raises the signal
    assert '"msg":"service stopped"' in (stack.log_dir / "execution.log").read_text()
    stack.start("execution")
    async with httpx.AsyncClient(base_url=stack.url("execution")) as client:
        assert sorted(p["symbol"] for p in (await client.get("/positions")).json()) == held

    await check_monitor(stack)
    await redis.aclose()
