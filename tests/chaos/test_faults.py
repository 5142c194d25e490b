"""Faults done for real to the running pipeline (ia1, ia2, execution as processes), each with its invariant.

- Stages SIGKILLed on a schedule set by progress (after the stage's group has read a given share of the
  load), so the kills happen whatever the machine's speed: every message ends traded, refused with a
  reason or dead-lettered with an expected reason; no opportunity is traded twice; the cap holds.
- Redis restarted with deploy's AOF configuration (SIGTERM), and crashed (SIGKILL, fsync always) under
  load: nothing acknowledged is lost, the services reconnect by themselves (same processes, ready again).
- Redis hung (SIGSTOP): readiness goes 503, liveness stays 200, nothing crashes, work resumes after.

``CHAOS_OPPORTUNITIES`` sets the load (``make chaos`` runs 1,000; the default suite a CI-sized 300).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import Stack
from devkit.waits import eventually
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from tests.chaos.pipeline import PAPER, STAGES, account_for_everything, drained, entries_read, market, publish

pytestmark = pytest.mark.slow

LOAD = int(os.environ.get("CHAOS_OPPORTUNITIES", "300"))
DEPLOY_REDIS_CONF = Path(__file__).resolve().parents[2] / "deploy" / "redis" / "redis.conf"
MAX_POSITIONS = 5
# A low bar, so many decisions are to trade, and a small book, so many are refused: both paths are exercised.
TRADING = {
    "RISK_MIN_CONFIDENCE": "0.05",
    "RISK_MAX_OPEN_POSITIONS": str(MAX_POSITIONS),
    "RISK_MAX_TOTAL_EXPOSURE": "50",
    "RISK_MAX_SYMBOL_EXPOSURE": "10",
    "REDIS_SOCKET_TIMEOUT_S": "1",
}
# Each stage killed twice, at set points of its own progress through the load.
KILLS = [("ia1", 0.10), ("ia2", 0.20), ("execution", 0.30), ("ia1", 0.45), ("ia2", 0.60), ("execution", 0.75)]


@contextmanager
def running_stages(redis: RedisServer, sim: SimServer, log_dir: Path) -> Iterator[Stack]:
    with Stack(redis.url, sim.api_url, log_dir, TRADING, services=STAGES) as stack:
        stack.start_all()
        yield stack


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
    with running_stages(aof_redis, sim, tmp_path) as stack:
        yield stack


async def _restart(stack: Stack, name: str) -> None:
    stack.stop(name, kill=True)  # SIGKILL: no drain, no ack
    stack.start(name, wait=False)  # spawned from the test's own thread: it dies with the test run
    await asyncio.to_thread(stack.wait_ready, name)


async def test_stages_killed_on_schedule_lose_nothing_and_trade_once(
    stages: Stack, aof_redis: RedisServer, sim: SimServer
) -> None:
    redis = create_redis(ServiceSettings(redis_url=aof_redis.url))
    prices = await market(sim)
    kills: list[str] = []

    async def killer() -> None:
        for stage, share in KILLS:
            threshold = int(LOAD * share)
            await eventually(
                lambda s=stage, t=threshold: _reached(redis, s, t), 240, what=f"{stage} read {threshold} entries"
            )
            await _restart(stages, stage)
            kills.append(stage)

    chaos = asyncio.create_task(killer())
    sent = await publish(redis, prices, LOAD, rate=50)
    await chaos
    await drained(redis)

    figures = await account_for_everything(redis, sent, max_positions=MAX_POSITIONS)
    assert kills == [stage for stage, _ in KILLS]
    assert figures.orders > 0 and figures.refused > 0
    print(f"chaos: {len(kills)} SIGKILLs {Counter(kills)}, {figures}")  # shown by `make chaos` (pytest -s)
    await redis.aclose()


async def _reached(redis: Redis, stage: str, threshold: int) -> bool:
    return await entries_read(redis, stage) >= threshold


async def _restart_redis_under_load(stages: Stack, server: RedisServer, sim: SimServer, *, crash: bool) -> None:
    redis = create_redis(ServiceSettings(redis_url=server.url, redis_socket_timeout_s=1))
    prices = await market(sim)
    pids = {name: stages.processes[name].pid for name in STAGES}
    publishing = asyncio.create_task(publish(redis, prices, LOAD, rate=100))
    await eventually(lambda: _reached(redis, "execution", LOAD // 3), 120, what="a third of the load decided")
    orders_before = await redis.hgetall(PAPER.orders)
    positions_before = await redis.hgetall(PAPER.positions)
    await asyncio.to_thread(server.restart, 1.0, crash=crash)  # down 1 s, back on the same port
    sent = await publishing
    await drained(redis)

    orders_after = await redis.hgetall(PAPER.orders)
    assert orders_before.items() <= orders_after.items(), "an order recorded before the restart is gone"
    positions_after = await redis.hgetall(PAPER.positions)
    assert positions_before.keys() <= positions_after.keys(), "a position recorded before the restart is gone"
    await account_for_everything(redis, sent, max_positions=MAX_POSITIONS)
    for name in STAGES:  # reconnected by themselves: the same processes, ready again
        assert stages.processes[name].pid == pids[name] and stages.processes[name].poll() is None
        await asyncio.to_thread(stages.wait_ready, name)
    await redis.aclose()


async def test_redis_restart_under_load_loses_nothing_acknowledged(
    stages: Stack, aof_redis: RedisServer, sim: SimServer
) -> None:
    """SIGTERM with deploy's redis.conf: Redis writes its AOF out and nothing is lost."""
    await _restart_redis_under_load(stages, aof_redis, sim, crash=False)


@pytest.fixture
def crash_safe_redis(redis_binary: str) -> Iterator[RedisServer]:
    """deploy's redis.conf with every write fsynced: a crash may then lose nothing acknowledged."""
    server = RedisServer(redis_binary, config_file=DEPLOY_REDIS_CONF, extra_args=("--appendfsync", "always"))
    try:
        yield server.start()
    finally:
        server.kill()


async def test_redis_crash_under_load_loses_nothing_acknowledged(
    crash_safe_redis: RedisServer, sim: SimServer, tmp_path: Path
) -> None:
    """SIGKILL: with ``appendfsync always`` nothing acknowledged is lost (deploy's ``everysec`` may lose 1 s)."""
    with running_stages(crash_safe_redis, sim, tmp_path) as stages:
        await _restart_redis_under_load(stages, crash_safe_redis, sim, crash=True)


async def test_hung_redis_makes_services_unready_not_dead(
    stages: Stack, aof_redis: RedisServer, sim: SimServer
) -> None:
    redis = create_redis(ServiceSettings(redis_url=aof_redis.url, redis_socket_timeout_s=1))
    prices = await market(sim)
    aof_redis.pause()
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def all_unready_all_alive() -> bool:
                codes = []
                for name in STAGES:
                    assert (await client.get(f"{stages.url(name)}/livez")).status_code == 200
                    codes.append((await client.get(f"{stages.url(name)}/readyz")).status_code)
                return all(code == 503 for code in codes)

            await eventually(all_unready_all_alive, 30, interval_s=0.2, what="every stage unready while Redis hangs")
    finally:
        aof_redis.resume()
    for name in STAGES:
        await asyncio.to_thread(stages.wait_ready, name)
        assert stages.processes[name].poll() is None  # nothing crashed
    sent = await publish(redis, prices, 20, rate=50)  # work resumes
    await drained(redis, timeout_s=60)
    await account_for_everything(redis, sent, max_positions=MAX_POSITIONS)
    await redis.aclose()
