"""The live feed: monitor's own consumer group on every pipeline stream, fanned out to WebSocket clients.

Each client has a bounded queue; a client too slow to keep up loses its oldest events rather than
holding memory or slowing the others. Stage latencies (time since the opportunity was published) are
observed here, once per message, for the pipeline dashboard.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from prometheus_client import Counter, Histogram
from redis.asyncio import Redis

from shared import keys, metrics
from shared.bus import ConsumerConfig, Delivery, StreamConsumer
from shared.contracts import Analysis, Decision, Execution, Opportunity
from shared.messages import StreamMessage

STAGE_LATENCY = Histogram(
    metrics.name("pipeline_stage_latency_seconds"),
    "Time from an opportunity's publication to each later stage's message",
    ["stage"],
    buckets=metrics.LATENCY_BUCKETS,
)
FEED_DROPPED = Counter(metrics.name("feed_events_dropped_total"), "Feed events dropped for slow WebSocket clients")
FEED_GROUP = "monitor"
STREAM_MODELS: dict[str, type[StreamMessage]] = {
    keys.STREAM_OPPORTUNITIES: Opportunity,
    keys.STREAM_ANALYSES: Analysis,
    keys.STREAM_DECISIONS: Decision,
    keys.STREAM_EXECUTIONS: Execution,
}


class FeedHub:
    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._clients: set[asyncio.Queue[dict[str, Any]]] = set()
        self.recent: list[dict[str, Any]] = []

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        self._clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._clients.discard(queue)

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, event: dict[str, Any]) -> None:
        self.recent = [*self.recent[-99:], event]
        for queue in self._clients:
            if queue.full():
                queue.get_nowait()
                FEED_DROPPED.inc()
            queue.put_nowait(event)


def _observe_latency(message: StreamMessage) -> None:
    origin = getattr(message, "opportunity_created_at", 0.0)
    if origin > 0:
        STAGE_LATENCY.labels(message.TYPE).observe(max(0.0, message.created_at - origin))


def feed_consumers(redis: Redis, hub: FeedHub, config: ConsumerConfig) -> list[StreamConsumer[Any]]:
    """One consumer per pipeline stream, starting at new entries (the feed is live, not a replay)."""

    async def handle(message: StreamMessage, delivery: Delivery) -> None:
        _observe_latency(message)
        hub.publish(
            {
                "stream": delivery.stream,
                "type": message.TYPE,
                "at": time.time(),
                "data": message.model_dump(mode="json"),
            }
        )

    live = dataclasses.replace(config, start_id="$")
    return [
        StreamConsumer(redis, stream=stream, group=FEED_GROUP, model=model, handler=handle, config=live)
        for stream, model in STREAM_MODELS.items()
    ]
