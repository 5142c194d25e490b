"""A consumer in its own process, for tests that SIGKILL or SIGTERM it mid-handler.

Usage: python -m tests.helpers.consumer_proc REDIS_URL STREAM GROUP HANDLER_SECONDS
Each handled message is recorded as ``started:<body>`` and, when the handler returns, ``done:<body>``.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from shared.bus import ConsumerConfig, Delivery, StreamConsumer
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from tests.helpers.messages import Ping


async def main(redis_url: str, stream: str, group: str, handler_seconds: float) -> None:
    redis = create_redis(ServiceSettings(service_name="proc", redis_url=redis_url))

    async def handle(message: Ping, delivery: Delivery) -> None:
        await redis.rpush("started", message.body)
        await asyncio.sleep(handler_seconds)
        await redis.rpush("done", message.body)

    config = ConsumerConfig(claim_idle_ms=60_000, block_ms=100, shutdown_grace_s=1.0, concurrency=4)
    consumer = StreamConsumer(redis, stream=stream, group=group, model=Ping, handler=handle, config=config)
    await consumer.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await redis.set(f"ready:{consumer.consumer}", 1)
    await redis.rpush("consumers", consumer.consumer)
    await stop.wait()
    await consumer.stop()
    await redis.rpush("stopped", consumer.consumer)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
