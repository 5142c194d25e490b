"""The consumer loop under Redis error replies and permanent handler errors, against a real Redis."""

from __future__ import annotations

import asyncio
import itertools

from redis.asyncio import Redis

from devkit.redis_server import RedisServer
from devkit.waits import eventually
from shared.bus import ConsumerConfig, Delivery, Publisher, StreamConsumer
from shared.errors import BadRequestError
from shared.keys import STREAM_DEADLETTER
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from tests.helpers.messages import Ping

STREAM = "stream:faults"
GROUP = "workers"
FAST = ConsumerConfig(block_ms=50, claim_idle_ms=100, claim_interval_s=0.05, max_deliveries=1, shutdown_grace_s=1.0)


async def test_the_loop_survives_out_of_memory_while_dead_lettering(private_redis: RedisServer) -> None:
    redis = create_redis(ServiceSettings(redis_url=private_redis.url, redis_socket_timeout_s=1))
    seen: list[str] = []

    async def handle(message: Ping, delivery: Delivery) -> None:
        if message.body == "poison":
            raise RuntimeError("fails once, then it is delivered too often and dead-lettered")
        seen.append(message.body)

    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=FAST)
    publisher = Publisher(redis, maxlen=1000)
    await consumer.start()
    await redis.config_set("maxmemory-policy", "noeviction")
    await publisher.publish(STREAM, Ping(body="poison"))
    await eventually(lambda: redis.hlen(f"{STREAM}:{GROUP}:last-error"), 10)  # it failed and stays pending
    await redis.config_set("maxmemory", "1")  # now the dead-letter XADD is refused: OOM
    await eventually(lambda: _errors_counted(consumer), 10, what="the loop met the OOM reply")
    assert consumer.alive() is None  # it did not die of it
    await redis.config_set("maxmemory", "0")  # memory freed
    await eventually(lambda: redis.xlen(STREAM_DEADLETTER), 10)  # the poison is dead-lettered after all
    await publisher.publish(STREAM, Ping(body="after"))
    await eventually(lambda: seen == ["after"], 10)  # and new entries are processed again
    await consumer.stop()
    await redis.aclose()


def _errors_counted(consumer: StreamConsumer[Ping]) -> bool:
    from shared.bus import REDIS_ERRORS

    return bool(REDIS_ERRORS.labels(consumer.stream, consumer.group)._value.get() > 0)


async def test_a_permanent_error_is_dead_lettered_at_once_with_its_reason(redis: Redis) -> None:
    calls: list[int] = []

    async def handle(message: Ping, delivery: Delivery) -> None:
        calls.append(delivery.deliveries)
        raise BadRequestError("unknown symbol 'NOPE/USDT:USDT': use the unified form, e.g. BTC/USDT:USDT")

    config = ConsumerConfig(block_ms=50, claim_idle_ms=100, claim_interval_s=0.05, max_deliveries=5)
    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=config)
    await consumer.start()
    await Publisher(redis, maxlen=1000).publish(STREAM, Ping(body="bad"))
    [(_, record)] = await eventually(lambda: redis.xrange(STREAM_DEADLETTER), 10)
    await consumer.stop()
    assert calls == [1]  # not retried: a retry cannot mend a bad request
    assert record[b"reason"].startswith(b"permanent: BadRequestError: unknown symbol")
    assert int((await redis.xpending(STREAM, GROUP))["pending"]) == 0


async def test_a_handler_slower_than_the_claim_threshold_is_neither_doubled_nor_dead_lettered(redis: Redis) -> None:
    handled: list[int] = []
    release = asyncio.Event()

    async def handle(message: Ping, delivery: Delivery) -> None:
        handled.append(delivery.deliveries)
        await release.wait()  # far longer than the 100 ms claim threshold (a lease to wait out, say)

    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=FAST)
    await consumer.start()
    await Publisher(redis, maxlen=1000).publish(STREAM, Ping(body="slow"))
    await eventually(lambda: handled, 10)
    idle: list[int] = []

    async def rounds_went_by() -> bool:
        """Several reclaim rounds ran while the handler was busy (its entry's idle time was reset, or it was
        taken over: either way the consumer looked at it more than the threshold after delivery)."""
        rows = await redis.xpending_range(STREAM, GROUP, "-", "+", 1)
        if not rows:
            return True  # dead-lettered: the failure the assertions below name
        idle.append(int(rows[0]["time_since_delivered"]))
        resets = sum(1 for before, after in itertools.pairwise(idle) if after < before)
        return resets >= 3 or len(handled) > 1

    await eventually(rounds_went_by, 30, interval_s=0.03)
    release.set()
    await eventually(lambda: _nothing_pending(redis), 10)
    await consumer.stop()
    assert handled == [1]  # one handler, one delivery: the consumer's own reclaim left it alone
    assert await redis.xlen(STREAM_DEADLETTER) == 0


async def _nothing_pending(redis: Redis) -> bool:
    return int((await redis.xpending(STREAM, GROUP))["pending"]) == 0
