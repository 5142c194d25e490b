"""A consumer publishes and acks by batch: one pipeline of publishes, one XACK, and still at-least-once.

The entries are in the stream before the consumer starts, and the handlers never wait on I/O, so the
whole read finishes at once: that is the batch. Redis's own command counters say how many XADD and XACK
calls were made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from devkit.waits import eventually
from shared.bus import ConsumerConfig, Delivery, Publisher, StreamConsumer
from tests.helpers.messages import Ping

IN, OUT, GROUP = "stream:in", "stream:out", "relays"
BATCH = 16
CONFIG = ConsumerConfig(batch_size=BATCH, concurrency=BATCH, block_ms=50, claim_idle_ms=60_000)

Handler = Callable[[Ping, Delivery], Awaitable[None]]


def relay(publisher: Publisher, *, fail_on: str = "", refused_on: str = "") -> Handler:
    async def handle(message: Ping, delivery: Delivery) -> None:
        target = "not-a-stream" if message.body == refused_on else OUT
        await publisher.publish(target, Ping(body=f"out-{message.body}"))
        if message.body == fail_on:
            raise RuntimeError("handler failed after publishing")

    return handle


async def run_batch(redis: Redis, handler: Handler) -> dict[str, int]:
    """Relay BATCH entries through a consumer; the XADD and XACK calls Redis counted meanwhile."""
    for i in range(BATCH):
        await redis.xadd(IN, {"type": "test.ping", "v": "1", "data": f'{{"body":"m{i}"}}'})
    await redis.xgroup_create(IN, GROUP, id="0")
    await redis.config_resetstat()
    consumer = StreamConsumer(redis, stream=IN, group=GROUP, model=Ping, handler=handler, config=CONFIG)
    await consumer.start()

    async def settled() -> bool:
        pending = int((await redis.xpending(IN, GROUP))["pending"])
        info = await redis.xinfo_groups(IN)
        return pending <= 1 and int(info[0]["lag"] or 0) == 0 and int(info[0]["entries-read"] or 0) == BATCH

    await eventually(settled, what="the batch handled")
    await consumer.stop()
    stats = await redis.info("commandstats")
    return {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("xadd", "xack")}


async def outputs(redis: Redis) -> list[str]:
    return sorted(fields[b"data"].decode() for _, fields in await redis.xrange(OUT))


async def pending_ids(redis: Redis) -> list[bytes]:
    return [row["message_id"] for row in await redis.xpending_range(IN, GROUP, "-", "+", 100)]


async def test_a_read_batch_is_published_with_one_pipeline_and_acked_with_one_xack(redis: Redis) -> None:
    calls = await run_batch(redis, relay(Publisher(redis, maxlen=1000)))
    assert calls == {"xadd": BATCH, "xack": 1}
    assert len(await outputs(redis)) == BATCH
    assert await pending_ids(redis) == []


async def test_a_failed_handler_is_neither_published_nor_acked(redis: Redis) -> None:
    calls = await run_batch(redis, relay(Publisher(redis, maxlen=1000), fail_on="m3"))
    assert calls == {"xadd": BATCH - 1, "xack": 1}
    assert '{"body":"out-m3"}' not in await outputs(redis)
    assert len(await outputs(redis)) == BATCH - 1
    assert len(await pending_ids(redis)) == 1  # m3, to be retried: its retry publishes again


async def test_an_entry_whose_publish_is_refused_stays_pending_and_the_others_are_acked(redis: Redis) -> None:
    await redis.set("not-a-stream", b"a string: XADD to it fails")
    calls = await run_batch(redis, relay(Publisher(redis, maxlen=1000), refused_on="m5"))
    assert calls == {"xadd": BATCH, "xack": 1}
    assert len(await outputs(redis)) == BATCH - 1
    pending = await pending_ids(redis)
    assert len(pending) == 1
    (entry,) = await redis.xrange(IN, pending[0], pending[0])
    assert b"m5" in entry[1][b"data"]
