"""The stream bus against a real Redis: acks, retries, reclaim, dead letters, restarts, shutdown."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

import orjson
import pytest
from redis.asyncio import Redis

from devkit import processes
from devkit.redis_server import RedisServer
from devkit.waits import eventually
from shared.bus import ConsumerConfig, Delivery, Publisher, StreamConsumer
from shared.keys import STREAM_DEADLETTER
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from tests.helpers.messages import Ping

STREAM = "stream:test"
GROUP = "workers"
FAST = ConsumerConfig(block_ms=50, claim_idle_ms=200, claim_interval_s=0.05, max_deliveries=3, shutdown_grace_s=2.0)


def recorder() -> tuple[list[tuple[str, int]], Callable[[Ping, Delivery], Awaitable[None]]]:
    seen: list[tuple[str, int]] = []

    async def handle(message: Ping, delivery: Delivery) -> None:
        seen.append((message.body, delivery.deliveries))

    return seen, handle


async def pending_count(redis: Redis) -> int:
    summary = await redis.xpending(STREAM, GROUP)
    return int(summary["pending"])


async def test_messages_are_handled_and_acked(redis: Redis) -> None:
    seen, handle = recorder()
    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=FAST)
    await consumer.start()
    publisher = Publisher(redis, maxlen=1000)
    for i in range(20):
        await publisher.publish(STREAM, Ping(body=f"m{i}"))
    await eventually(lambda: len(seen) == 20)
    await consumer.stop()
    assert sorted(body for body, _ in seen) == sorted(f"m{i}" for i in range(20))
    assert await pending_count(redis) == 0
    assert await consumer.ready() == "consumer loop not running"


async def test_group_creation_is_idempotent_and_ready_reports_it(redis: Redis) -> None:
    _, handle = recorder()
    first = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=FAST)
    second = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=FAST)
    await first.start()
    await second.start()
    assert await first.ready() is None
    assert len(await redis.xinfo_groups(STREAM)) == 1
    await first.stop()
    await second.stop()


async def test_failing_handler_is_retried_then_dead_lettered_with_reason(redis: Redis) -> None:
    attempts: list[int] = []

    async def always_fails(message: Ping, delivery: Delivery) -> None:
        attempts.append(delivery.deliveries)
        raise RuntimeError(f"cannot handle {message.body}")

    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=always_fails, config=FAST)
    await consumer.start()
    await Publisher(redis, maxlen=1000).publish(STREAM, Ping(body="poison"))
    await eventually(lambda: redis.xlen(STREAM_DEADLETTER))
    await consumer.stop()
    assert attempts == [1, 2, 3]
    [(_, record)] = await redis.xrange(STREAM_DEADLETTER)
    assert record[b"stream"] == STREAM.encode()
    assert b"delivered 4 times" in record[b"reason"]
    assert b"RuntimeError: cannot handle poison" in record[b"reason"]
    assert orjson.loads(record[b"fields"])["type"] == "test.ping"
    assert await pending_count(redis) == 0


async def test_transient_failure_succeeds_on_redelivery(redis: Redis) -> None:
    seen: list[int] = []

    async def flaky(message: Ping, delivery: Delivery) -> None:
        if delivery.deliveries == 1:
            raise ConnectionError("upstream blip")
        seen.append(delivery.deliveries)

    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=flaky, config=FAST)
    await consumer.start()
    await Publisher(redis, maxlen=1000).publish(STREAM, Ping(body="x"))
    await eventually(lambda: seen == [2])
    await consumer.stop()
    assert await redis.xlen(STREAM_DEADLETTER) == 0
    assert await pending_count(redis) == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "test.ping", "v": "1", "data": "{not json"}, b"not valid JSON"),
        ({"type": "test.ping", "v": "9", "data": '{"body": "x"}'}, b"version 9 is not supported"),
        ({"type": "other", "v": "1", "data": '{"body": "x"}'}, b"unexpected message type"),
        ({"type": "test.ping", "v": "1", "data": '{"body": 5}'}, b"invalid test.ping: body"),
        ({"type": "test.ping", "v": "1", "data": '{"body": "x", "extra": 1}'}, b"extra"),
        ({"v": "1", "data": "{}"}, b"missing field 'type'"),
        ({"type": "test.ping", "v": "1", "data": "x" * 300_000}, b"byte limit"),
    ],
)
async def test_malformed_entry_is_dead_lettered_and_consumer_keeps_going(
    redis: Redis, fields: dict[str, str], reason: bytes
) -> None:
    seen, handle = recorder()
    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=FAST)
    await consumer.start()
    await redis.xadd(STREAM, fields)  # type: ignore[arg-type]
    await Publisher(redis, maxlen=1000).publish(STREAM, Ping(body="after"))
    await eventually(lambda: seen == [("after", 1)])
    await eventually(lambda: redis.xlen(STREAM_DEADLETTER))
    await consumer.stop()
    [(_, record)] = await redis.xrange(STREAM_DEADLETTER)
    assert record[b"reason"].startswith(b"malformed: ")
    assert reason in record[b"reason"]
    assert await pending_count(redis) == 0


async def test_killed_consumer_entry_is_reclaimed_by_another(redis: Redis, redis_url: str) -> None:
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    proc = processes.spawn([sys.executable, "-m", "tests.helpers.consumer_proc", redis_url, STREAM, GROUP, "60"])
    try:
        await eventually(lambda: redis.llen("consumers"), timeout_s=20)
        await Publisher(redis, maxlen=1000).publish(STREAM, Ping(body="in-flight"))
        await eventually(lambda: redis.llen("started"))
    finally:
        processes.kill(proc)
    assert await pending_count(redis) == 1
    seen, handle = recorder()
    survivor = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=FAST)
    await survivor.start()
    await eventually(lambda: bool(seen))
    await survivor.stop()
    assert seen == [("in-flight", 2)]
    assert await redis.llen("done") == 0
    assert await pending_count(redis) == 0


async def test_sigterm_hands_back_unfinished_work(redis: Redis, redis_url: str) -> None:
    """A consumer stopped mid-handler with a short grace returns the entry; another takes it at once."""
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    proc = processes.spawn([sys.executable, "-m", "tests.helpers.consumer_proc", redis_url, STREAM, GROUP, "30"])
    try:
        await eventually(lambda: redis.llen("consumers"), timeout_s=20)
        await Publisher(redis, maxlen=1000).publish(STREAM, Ping(body="long"))
        await eventually(lambda: redis.llen("started"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        processes.kill(proc)
    assert await redis.llen("stopped") == 1
    # The helper's claim threshold is 60 s; handing back sets the idle time past it, so it is claimable now.
    [row] = await redis.xpending_range(STREAM, GROUP, "-", "+", 10)
    assert row["time_since_delivered"] >= 60_000
    seen, handle = recorder()
    slow_claim = ConsumerConfig(block_ms=50, claim_idle_ms=60_000, claim_interval_s=0.05)
    survivor = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=slow_claim)
    await survivor.start()
    await eventually(lambda: bool(seen), timeout_s=5)
    await survivor.stop()
    assert seen[0][0] == "long"


async def test_graceful_stop_finishes_in_flight_work(redis: Redis) -> None:
    finished: list[str] = []
    started = asyncio.Event()

    async def slow(message: Ping, delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(message.body)

    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=slow, config=FAST)
    await consumer.start()
    await Publisher(redis, maxlen=1000).publish(STREAM, Ping(body="slow"))
    await asyncio.wait_for(started.wait(), 5)
    await consumer.stop()
    assert finished == ["slow"]
    assert await pending_count(redis) == 0


async def test_concurrency_is_bounded(redis: Redis) -> None:
    running = 0
    peak = 0
    done = 0

    async def handle(message: Ping, delivery: Delivery) -> None:
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        done += 1

    config = ConsumerConfig(block_ms=50, concurrency=3, batch_size=10)
    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=config)
    await consumer.start()
    publisher = Publisher(redis, maxlen=1000)
    for i in range(30):
        await publisher.publish(STREAM, Ping(body=str(i)))
    await eventually(lambda: done == 30)
    await consumer.stop()
    assert peak == 3


async def test_publisher_trims_approximately(redis: Redis) -> None:
    publisher = Publisher(redis, maxlen=100)
    for i in range(2_000):
        await publisher.publish(STREAM, Ping(body=str(i)))
    length = await redis.xlen(STREAM)
    assert 100 <= length < 400


async def test_consumer_survives_redis_restart_without_persistence(private_redis: RedisServer) -> None:
    settings = ServiceSettings(service_name="t", redis_url=private_redis.url, redis_socket_timeout_s=1.0)
    redis = create_redis(settings)
    seen, handle = recorder()
    consumer = StreamConsumer(redis, stream=STREAM, group=GROUP, model=Ping, handler=handle, config=FAST)
    await consumer.start()
    publisher = Publisher(redis, maxlen=1000)
    await publisher.publish(STREAM, Ping(body="before"))
    await eventually(lambda: len(seen) == 1)

    private_redis.restart(downtime_s=0.5)  # comes back empty: no stream, no group

    async def publish_after() -> bool:
        try:
            await publisher.publish(STREAM, Ping(body="after"))
            return True
        except Exception:
            return False

    await eventually(publish_after)
    await eventually(lambda: ("after", 1) in seen, timeout_s=15)
    assert await consumer.ready() is None
    await consumer.stop()
    await redis.aclose()


async def test_idempotency_helper_marks_and_claims(redis: Redis) -> None:
    from shared.idempotency import ProcessedMessages

    processed = ProcessedMessages(redis, namespace="t", ttl_s=60)
    assert not await processed.is_done("m1")
    await processed.mark_done("m1")
    assert await processed.is_done("m1")
    assert 0 < await redis.ttl(processed.key("m1")) <= 60
    assert await processed.claim("m2") is True
    assert await processed.claim("m2") is False
