"""Faults done for real to the running pipeline (ia1, ia2, execution as processes), each with its invariant.

- Stages SIGKILLed at random while opportunities flow: every message ends handled or dead-lettered,
  none is lost, and no opportunity is traded twice.
- Redis restarted, with deploy's AOF configuration, under load: nothing acknowledged is lost, and the
  services reconnect by themselves (same processes, ready again).
- Redis hung (SIGSTOP): readiness goes 503, liveness stays 200, nothing crashes, work resumes after.

``CHAOS_OPPORTUNITIES`` sets the load (``make chaos`` runs 1,000; the default suite a CI-sized 300).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import Stack
from shared.bus import Publisher
from shared.contracts import Analysis, Decision, Opportunity
from shared.keys import (
    ORDERS,
    POSITIONS,
    STREAM_ANALYSES,
    STREAM_DEADLETTER,
    STREAM_DECISIONS,
    STREAM_OPPORTUNITIES,
)
from shared.messages import decode
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from shared.trading_state import Order

STAGES = ("execution", "ia2", "ia1")
GROUPS = {STREAM_OPPORTUNITIES: "ia1", STREAM_ANALYSES: "ia2", STREAM_DECISIONS: "execution"}
LOAD = int(os.environ.get("CHAOS_OPPORTUNITIES", "300"))
DEPLOY_REDIS_CONF = Path(__file__).resolve().parents[2] / "deploy" / "redis" / "redis.conf"
# Low bar and a large book: many decisions become orders, so "traded twice" has room to happen.
TRADING = {"RISK_MIN_CONFIDENCE": "0.05", "RISK_MAX_OPEN_POSITIONS": "1000", "RISK_MAX_TOTAL_EXPOSURE": "50"}


@pytest.fixture
def aof_redis(redis_binary: str) -> Iterator[RedisServer]:
    """A Redis started with deploy/redis/redis.conf (AOF, fsync every second, volatile-lru)."""
    server = RedisServer(redis_binary, config_file=DEPLOY_REDIS_CONF).start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def stages(aof_redis: RedisServer, sim: SimServer, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(aof_redis.url, sim.api_url, tmp_path, {"REDIS_SOCKET_TIMEOUT_S": "1", **TRADING})
    try:
        for name in STAGES:
            stack.start(name)
        yield stack
    finally:
        stack.stop_all()


async def _market(sim: SimServer) -> list[tuple[str, float]]:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        rows = (await client.get("/openApi/swap/v2/quote/ticker")).json()["data"]
    return [(row["symbol"].replace("-", "/") + ":USDT", float(row["lastPrice"])) for row in rows]


def _opportunity(symbol: str, price: float, n: int) -> Opportunity:
    return Opportunity(
        scan_id=f"chaos-{n // 50}", symbol=symbol, rank=1 + n % 20, score=0.8, price=price,
        change_pct_24h=2.0, quote_volume_24h=5e7, volatility_pct=3.0, spread_bps=2.0,
    )  # fmt: skip


async def _publish(redis: Redis, market: list[tuple[str, float]], count: int, rate: float) -> set[str]:
    """Publish at ``rate``/s; an XADD that fails (Redis away) is tried again, so each id is sent once."""
    publisher = Publisher(redis, maxlen=1_000_000)
    sent: set[str] = set()
    started = time.monotonic()
    for n in range(count):
        message = _opportunity(*market[n % len(market)], n)
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        while True:
            try:
                await publisher.publish(STREAM_OPPORTUNITIES, message)
                break
            except (RedisConnectionError, RedisTimeoutError, ConnectionResetError):
                await asyncio.sleep(0.2)
        sent.add(message.message_id)
    return sent


async def _drained(redis: Redis, timeout_s: float = 180) -> None:
    """Every group has read everything and holds nothing pending."""
    deadline = time.monotonic() + timeout_s
    state: dict[str, tuple[int, int | None]] = {}
    while time.monotonic() < deadline:
        state = {}
        for stream, group in GROUPS.items():
            info = {g["name"].decode(): g for g in await redis.xinfo_groups(stream)}
            state[stream] = (info[group]["pending"], info[group]["lag"]) if group in info else (-1, None)
        if all(pending == 0 and lag == 0 for pending, lag in state.values()):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"pipeline never drained: (pending, lag) per stream {state}")


def _dead_message_id(record: dict[bytes, bytes]) -> str:
    """The id of the message a dead-letter record holds (its original fields are kept as JSON)."""
    fields = orjson.loads(record[b"fields"])
    return str(orjson.loads(fields.get("data", "{}")).get("message_id", ""))


async def _check_nothing_lost_nothing_doubled(redis: Redis, sent: set[str]) -> dict[str, int]:
    analyses = [decode(f, Analysis) for _, f in await redis.xrange(STREAM_ANALYSES)]
    decisions = [decode(f, Decision) for _, f in await redis.xrange(STREAM_DECISIONS)]
    dead = [f for _, f in await redis.xrange(STREAM_DEADLETTER)]
    dead_ids = {_dead_message_id(f) for f in dead}
    orders = [Order.model_validate_json(raw) for raw in (await redis.hgetall(ORDERS)).values()]

    analysed = {a.opportunity_id for a in analyses}
    missing = sent - analysed - dead_ids
    assert not missing, f"{len(missing)} opportunities neither analysed nor dead-lettered"
    decided = {d.analysis_id for d in decisions}
    undecided = {a.message_id for a in analyses} - decided - dead_ids
    assert not undecided, f"{len(undecided)} analyses neither decided nor dead-lettered"
    ordered = {o.decision_id for o in orders}
    unexecuted = {d.message_id for d in decisions if d.action == "open"} - ordered - dead_ids
    assert not unexecuted, f"{len(unexecuted)} decisions to trade neither executed nor dead-lettered"

    # Traded once: redeliveries re-derive the same ids, so one opportunity can never become two orders.
    opportunity_of = {d.message_id: d.opportunity_id for d in decisions}
    per_opportunity = Counter(opportunity_of[o.decision_id] for o in orders if o.kind == "open")
    assert max(per_opportunity.values(), default=0) <= 1, per_opportunity.most_common(3)
    filled_open = [o for o in orders if o.kind == "open" and o.status == "filled"]
    positions = await redis.hlen(POSITIONS)
    closed = sum(1 for o in orders if o.kind == "close" and o.status == "filled")
    assert positions == len(filled_open) - closed  # one position per filled opening order, no more
    return {"opportunities": len(sent), "orders": len(filled_open), "dead_letters": len(dead)}


async def test_stages_killed_at_random_lose_nothing_and_trade_once(
    stages: Stack, aof_redis: RedisServer, sim: SimServer
) -> None:
    redis = create_redis(ServiceSettings(redis_url=aof_redis.url))
    market = await _market(sim)
    rng = random.Random(7)
    kills: list[str] = []

    async def killer(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(0.1, 0.5))
            name = STAGES[len(kills) % len(STAGES)] if len(kills) < len(STAGES) else rng.choice(STAGES)
            await asyncio.to_thread(stages.stop, name, kill=True)  # SIGKILL: no drain, no ack
            kills.append(name)
            await asyncio.to_thread(stages.start, name)

    stop = asyncio.Event()
    chaos = asyncio.create_task(killer(stop))
    sent = await _publish(redis, market, LOAD, rate=50)
    stop.set()
    await chaos
    await _drained(redis)

    figures = await _check_nothing_lost_nothing_doubled(redis, sent)
    assert len(kills) >= 3 and set(kills) == set(STAGES), kills
    assert figures["orders"] > 0
    print(f"chaos: {len(kills)} SIGKILLs {Counter(kills)}, {figures}")  # shown by `make chaos` (pytest -s)
    await redis.aclose()


async def test_redis_restart_under_load_loses_nothing_acknowledged(
    stages: Stack, aof_redis: RedisServer, sim: SimServer
) -> None:
    redis = create_redis(ServiceSettings(redis_url=aof_redis.url, redis_socket_timeout_s=1))
    market = await _market(sim)
    pids = {name: stages.processes[name].pid for name in STAGES}
    publishing = asyncio.create_task(_publish(redis, market, LOAD, rate=100))
    await asyncio.sleep(LOAD / 100 / 2)
    orders_before = await redis.hgetall(ORDERS)
    positions_before = await redis.hgetall(POSITIONS)
    await asyncio.to_thread(aof_redis.restart, 1.0)  # SIGTERM (Redis fsyncs its AOF), down 1 s, back
    sent = await publishing
    await _drained(redis)

    orders_after = await redis.hgetall(ORDERS)
    assert orders_before.items() <= orders_after.items(), "an order recorded before the restart is gone"
    positions_after = await redis.hgetall(POSITIONS)
    assert positions_before.keys() <= positions_after.keys(), "a position recorded before the restart is gone"
    await _check_nothing_lost_nothing_doubled(redis, sent)
    for name in STAGES:  # reconnected by themselves: the same processes, ready again
        assert stages.processes[name].pid == pids[name] and stages.processes[name].poll() is None
        await asyncio.to_thread(stages.wait_ready, name)
    await redis.aclose()


async def test_hung_redis_makes_services_unready_not_dead(
    stages: Stack, aof_redis: RedisServer, sim: SimServer
) -> None:
    redis = create_redis(ServiceSettings(redis_url=aof_redis.url, redis_socket_timeout_s=1))
    market = await _market(sim)
    aof_redis.pause()
    try:
        deadline = time.monotonic() + 20
        ready = {name: 200 for name in STAGES}
        while time.monotonic() < deadline and any(code != 503 for code in ready.values()):
            async with httpx.AsyncClient(timeout=5) as client:
                for name in STAGES:
                    ready[name] = (await client.get(f"{stages.url(name)}/readyz")).status_code
                    assert (await client.get(f"{stages.url(name)}/livez")).status_code == 200
        assert all(code == 503 for code in ready.values()), ready
    finally:
        aof_redis.resume()
    for name in STAGES:
        await asyncio.to_thread(stages.wait_ready, name)
        assert stages.processes[name].poll() is None  # nothing crashed
    sent = await _publish(redis, market, 20, rate=50)  # work resumes
    await _drained(redis, timeout_s=60)
    await _check_nothing_lost_nothing_doubled(redis, sent)
    await redis.aclose()
