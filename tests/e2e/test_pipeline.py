"""The whole pipeline as real processes against a real Redis and the simulator (through ccxt).

The simulator's clock is frozen at a fixed instant, so the market, and therefore every scan, analysis
and decision, is the same on every run; the conditions under test (a cap refusal, a redelivered
decision) are created by the test, never waited for from the market.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import Stack
from devkit.waits import caught_up, eventually
from shared.bus import Publisher
from shared.contracts import Analysis, Decision, Execution, Opportunity
from shared.keys import (
    JOURNALED_STREAMS,
    STREAM_ANALYSES,
    STREAM_DECISIONS,
    STREAM_EXECUTIONS,
    STREAM_OPPORTUNITIES,
)
from shared.messages import StreamMessage, decode, derived_message_id
from shared.redis_client import create_redis
from shared.settings import ServiceSettings

pytestmark = pytest.mark.slow

FROZEN_AT_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: one fixed market for every run


@pytest.fixture
def stack(private_redis: RedisServer, sim: SimServer, tmp_path: Path) -> Iterator[Stack]:
    sim.admin("POST", "/clock", json={"frozen_at_ms": FROZEN_AT_MS})
    # Low confidence bar and one position at most: trades happen, and the position cap must bite.
    settings = {"RISK_MIN_CONFIDENCE": "0.05", "RISK_MAX_OPEN_POSITIONS": "1"}
    with Stack(private_redis.url, sim.api_url, tmp_path, settings) as running:
        running.start_all()
        yield running


async def read(redis: Redis, stream: str, model: type[StreamMessage]) -> list[Any]:
    return [decode(fields, model) for _, fields in await redis.xrange(stream)]


async def wait_for(
    redis: Redis, stream: str, model: type[StreamMessage], check: Any, timeout_s: float = 90
) -> list[Any]:
    """The stream's messages once ``check`` holds for them."""

    async def satisfied() -> list[Any] | None:
        items = await read(redis, stream, model)
        return items if check(items) else None

    found: list[Any] = await eventually(satisfied, timeout_s, interval_s=0.2, what=f"{stream} satisfied the check")
    return found


async def handled(redis: Redis, stream: str, group: str, entry_id: bytes) -> bool:
    """The group has read past ``entry_id`` and acknowledged everything it read."""
    for info in await redis.xinfo_groups(stream):
        if info["name"].decode() == group:
            last = tuple(map(int, info["last-delivered-id"].decode().split("-")))
            return last >= tuple(map(int, entry_id.decode().split("-"))) and info["pending"] == 0
    return False


def strong_analysis(symbol: str, price: float) -> Analysis:
    return Analysis(
        opportunity_id="e2e-made-by-the-test", symbol=symbol, signal="long", confidence=0.95, price=price,
        atr=price * 0.01, rationale="Made by the test: a confident long.", setup="e2e_long",
    )  # fmt: skip


def decision_to_open(symbol: str, price: float) -> Decision:
    return Decision(
        analysis_id="e2e-analysis", opportunity_id="e2e-opportunity", symbol=symbol, action="open", side="long",
        quantity=10 / price, entry_price=price, stop_loss=price * 0.95, take_profit=price * 1.1,
        confidence=0.95, required_confidence=0.05, reasons=["made by the test: a second position"],
    )  # fmt: skip


async def check_monitor(stack: Stack) -> None:
    """The monitor's endpoints answer with figures from the running system."""
    async with httpx.AsyncClient(base_url=stack.url("monitor"), timeout=30) as client:
        stats = (await client.get("/api/system/performance/cache-stats")).json()
        assert stats["overall"]["requests"] > 0
        status = (await client.get("/api/system/optimization-status")).json()
        assert all(s["status"] == "ready" for s in status["services"].values()), status["services"]
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


async def journaled_orders(client: httpx.AsyncClient, redis: Redis) -> list[dict[str, Any]]:
    """execution's /orders (read from the journal) once the journal has stored every execution so far."""
    await eventually(lambda: caught_up(redis, "journal", [STREAM_EXECUTIONS]), what="the journal caught up")
    response = await client.get("/orders", params={"limit": 1000})
    assert response.status_code == 200, response.text
    orders: list[dict[str, Any]] = response.json()
    return orders


async def check_history(stack: Stack, redis: Redis, filled: Execution) -> None:
    """The monitor's history endpoints and export read the journal the pipeline wrote."""
    await eventually(lambda: caught_up(redis, "journal", sorted(JOURNALED_STREAMS)), what="the journal caught up")
    async with httpx.AsyncClient(base_url=stack.url("monitor"), timeout=30) as client:
        trades = (await client.get("/api/history/trades", params={"symbol": filled.symbol})).json()["items"]
        assert any(t["decision_id"] == filled.decision_id and t["entry_fee"] > 0 for t in trades)
        decisions = (await client.get("/api/history/decisions", params={"action": "open"})).json()["items"]
        assert any(d["message_id"] == filled.decision_id and d["reasons"] for d in decisions)
        exported = await client.get("/api/history/export/orders", params={"format": "csv", "mode": "paper"})
        assert exported.status_code == 200 and filled.client_order_id in exported.text
        assert (await client.get("/api/history/orders", params={"since": "yesterday"})).status_code == 422


async def test_paper_trades_trace_back_and_limits_hold(stack: Stack, private_redis: RedisServer) -> None:
    redis = create_redis(ServiceSettings(redis_url=private_redis.url))
    publisher = Publisher(redis, maxlen=10_000)
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

    async with httpx.AsyncClient(base_url=stack.url("execution")) as client:
        [position] = (await client.get("/positions")).json()
        other = next(o for o in opportunities.values() if o.symbol != position["symbol"])

        # The cap (1 position) holds at ia2: a confident analysis of another symbol is refused.
        probe = strong_analysis(other.symbol, other.price)
        await publisher.publish(STREAM_ANALYSES, probe)
        refused = await wait_for(
            redis, STREAM_DECISIONS, Decision, lambda ds: any(d.analysis_id == probe.message_id for d in ds)
        )
        verdict = next(d for d in refused if d.analysis_id == probe.message_id)
        assert verdict.action == "reject" and any("the maximum is 1" in r for r in verdict.reasons), verdict.reasons

        # ...and again at execution, at fill time, for a decision that skipped ia2's check.
        second = decision_to_open(other.symbol, other.price)
        await publisher.publish(STREAM_DECISIONS, second)
        await wait_for(
            redis, STREAM_EXECUTIONS, Execution, lambda xs: any(x.decision_id == second.message_id for x in xs)
        )
        orders = await journaled_orders(client, redis)
        [refusal] = [o for o in orders if o["decision_id"] == second.message_id]
        assert refusal["status"] == "rejected" and "the maximum is 1" in refusal["reason"]
        assert len((await client.get("/positions")).json()) == 1

        # A decision delivered twice produces one order.
        fields = next(
            f for _, f in await redis.xrange(STREAM_DECISIONS) if decode(f, Decision).message_id == decision.message_id
        )
        again = await redis.xadd(STREAM_DECISIONS, fields)
        await eventually(lambda: handled(redis, STREAM_DECISIONS, "execution", again), 30, what="redelivery handled")
        orders = await journaled_orders(client, redis)
        assert sum(1 for o in orders if o["decision_id"] == decision.message_id) == 1

        # A restarted execution service keeps its positions.
        held = sorted(p["symbol"] for p in (await client.get("/positions")).json())
    stack.stop("execution")  # SIGTERM: uvicorn shuts down gracefully, then re-raises the signal
    assert '"msg":"service stopped"' in stack.log("execution")
    stack.start("execution")
    async with httpx.AsyncClient(base_url=stack.url("execution")) as client:
        assert sorted(p["symbol"] for p in (await client.get("/positions")).json()) == held

    await check_monitor(stack)
    await check_history(stack, redis, filled)
    assert derived_message_id(probe.message_id, "ia2") == verdict.message_id
    await redis.aclose()
