"""The chaos verdict can fail. A ghost consumer reads entries of ia2's group and dies without acking them
(what a SIGKILLed replica leaves behind); ia2 must reclaim and handle them. The real ia2 does, and the
verdict passes; an ia2 whose consumer dead-letters every redelivered entry makes the verdict fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import Stack
from devkit.waits import eventually
from shared.keys import STREAM_ANALYSES
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from tests.chaos.pipeline import account_for_everything, drained, market, publish
from tests.chaos.test_faults import TRADING

pytestmark = pytest.mark.slow
LOAD = 60
GHOSTED = 10


async def _ghost_reads(redis: Redis, count: int) -> int:
    """Entries of ia2's group delivered to a consumer that will never ack them."""
    replies = await redis.xreadgroup("ia2", "ghost", {STREAM_ANALYSES: ">"}, count=count)
    return sum(len(entries) for _, entries in replies or [])


@pytest.mark.parametrize("ia2_module", ["services.ia2", "tests.helpers.broken_ia2"])
async def test_the_verdict_catches_a_consumer_that_drops_redeliveries(
    private_redis: RedisServer, sim: SimServer, tmp_path: Path, ia2_module: str
) -> None:
    redis = create_redis(ServiceSettings(redis_url=private_redis.url))
    prices = await market(sim)
    with Stack(private_redis.url, sim.api_url, tmp_path, TRADING, services=("ia1", "ia2", "execution")) as stack:
        stack.start("ia1")
        sent = await publish(redis, prices, LOAD, rate=200)
        await eventually(lambda: redis.xlen(STREAM_ANALYSES), 60, what="ia1 analysed")
        await redis.xgroup_create(STREAM_ANALYSES, "ia2", id="0", mkstream=True)
        ghosted = await _ghost_reads(redis, GHOSTED)  # ia2's group now holds entries nobody will ack
        stack.start("ia2", module=ia2_module)
        stack.start("execution")
        await drained(redis)
        if ia2_module == "services.ia2":
            await account_for_everything(redis, sent)  # reclaimed and handled: everything accounted for
        else:
            with pytest.raises(AssertionError, match=f"{ghosted} entries dead-lettered that should have been"):
                await account_for_everything(redis, sent)
    await redis.aclose()
