"""monitor's parts against a real Redis: history window, pipeline figures, alerts, the live feed."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from services.monitor.advice import Thresholds, as_dicts, assess
from services.monitor.feed import FeedHub, feed_consumers
from services.monitor.history import History, calls_per_hour, trend
from services.monitor.pipeline import pipeline_figures
from shared import keys
from shared.bus import ConsumerConfig, Publisher, StreamConsumer
from shared.contracts import Opportunity


def opportunity(symbol: str = "BTC/USDT:USDT") -> Opportunity:
    return Opportunity(
        scan_id="s1",
        symbol=symbol,
        rank=1,
        score=0.9,
        price=100.0,
        change_pct_24h=2.0,
        quote_volume_24h=1e7,
        volatility_pct=3.0,
        spread_bps=1.0,
        reasons=["test"],
    )


async def test_history_keeps_only_the_retention_window(redis: Redis) -> None:
    history = History(redis, retention_s=3600)
    await history.record({"hit_rate": 0.5, "upstream_calls": 100}, now=1_000.0)
    await history.record({"hit_rate": 0.8, "upstream_calls": 160}, now=2_800.0)
    await history.record({"hit_rate": 0.9, "upstream_calls": 200}, now=4_600.0)  # drops the first
    samples = await history.window(now=4_600.0)
    assert [s["hit_rate"] for s in samples] == [0.8, 0.9]
    assert await redis.zcard(keys.MONITOR_HISTORY) == 2
    assert trend(samples, "hit_rate") == pytest.approx(
        {"first": 0.8, "last": 0.9, "change": 0.1, "min": 0.8, "max": 0.9}
    )
    assert calls_per_hour(samples) == pytest.approx(80.0)
    assert calls_per_hour(samples[:1]) is None


async def test_pipeline_figures_count_lag_pending_and_dead_letters(redis: Redis) -> None:
    publisher = Publisher(redis, maxlen=1000)
    await redis.xgroup_create(keys.STREAM_OPPORTUNITIES, "ia1", id="0", mkstream=True)
    for _ in range(5):
        await publisher.publish(keys.STREAM_OPPORTUNITIES, opportunity())
    await redis.xreadgroup("ia1", "c1", {keys.STREAM_OPPORTUNITIES: ">"}, count=2)
    await redis.xadd(
        keys.STREAM_DEADLETTER, {"stream": "stream:opportunities", "reason": "malformed: x", "entry_id": "1-0"}
    )
    figures = await pipeline_figures(redis)
    group = figures["streams"][keys.STREAM_OPPORTUNITIES]["groups"]["ia1"]
    assert group == {"pending": 2, "lag": 3, "consumers": 1}
    assert figures["max_lag"] == 3 and figures["max_pending"] == 2
    assert figures["dead_letters"]["total"] == 1
    assert figures["dead_letters"]["recent"][0]["reason"] == "malformed: x"
    assert figures["streams"][keys.STREAM_DECISIONS] == {"length": 0, "groups": {}}


def test_alerts_and_recommendations_follow_the_figures() -> None:
    healthy = {
        "cache": {"overall": {"requests": 1000, "hit_rate": 0.95, "stale_served": 0}},
        "pipeline": {"max_lag": 0, "max_pending": 0, "dead_letters": {"total": 0}},
        "services": {"ia1": {"status": "ready"}},
        "trading": {},
    }
    assert assess(healthy, Thresholds()) == []
    sick = {
        "cache": {"overall": {"requests": 1000, "hit_rate": 0.4, "stale_served": 300}},
        "pipeline": {"max_lag": 5000, "max_pending": 900, "dead_letters": {"total": 3}},
        "services": {"ia1": {"status": "down"}},
        "trading": {"halt": "drawdown 16% above 15%"},
    }
    names = [a["name"] for a in as_dicts(assess(sick, Thresholds()))]
    assert names == [
        "service_down",
        "drawdown_halt",
        "cache_hit_rate_low",
        "stale_data_served",
        "consumer_lag_high",
        "pending_entries_high",
        "dead_letters",
    ]
    assert all(a.recommendation for a in assess(sick, Thresholds()))


async def test_feed_fans_out_new_entries_to_clients(redis: Redis) -> None:
    hub = FeedHub(queue_size=10)
    client = hub.subscribe()
    config = ConsumerConfig(block_ms=50)
    consumers: list[StreamConsumer[Opportunity]] = feed_consumers(redis, hub, config)
    for consumer in consumers:
        await consumer.start()
    await Publisher(redis, maxlen=100).publish(keys.STREAM_OPPORTUNITIES, opportunity("ETH/USDT:USDT"))
    event = await asyncio.wait_for(client.get(), 5)
    assert event["type"] == "opportunity"
    assert event["data"]["symbol"] == "ETH/USDT:USDT"
    for consumer in consumers:
        await consumer.stop()


def test_slow_feed_client_loses_oldest_events_only() -> None:
    hub = FeedHub(queue_size=3)
    client = hub.subscribe()
    for i in range(5):
        hub.publish({"n": i})
    assert [client.get_nowait()["n"] for _ in range(3)] == [2, 3, 4]
    hub.unsubscribe(client)
    assert hub.clients == 0
