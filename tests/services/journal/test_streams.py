"""Journaled streams against a real Redis: publishers never length-trim them, and the journal's trim removes
only entries every guarding group has acked (and that are old enough), never one the journal has not stored."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from services.journal.streams import LagWatcher, oldest_unhandled, parse_id, trim_handled
from shared.bus import Publisher
from shared.keys import STREAM_EVENTS, STREAM_OPPORTUNITIES
from shared.messages import encode
from tests.helpers.journal import funding

STREAM = STREAM_EVENTS


async def publish(redis: Redis, count: int) -> list[str]:
    return [(await redis.xadd(STREAM, encode(funding(f"d{i}", 1.0)))).decode() for i in range(count)]  # type: ignore[arg-type]


async def handle(redis: Redis, group: str, count: int, *, ack: list[int] | None = None) -> list[str]:
    """Deliver ``count`` entries to ``group``; ack the ones at the positions in ``ack`` (all by default)."""
    [(_, entries)] = await redis.xreadgroup(group, "c1", {STREAM: ">"}, count=count)
    ids = [entry_id.decode() for entry_id, _ in entries]
    for position, entry_id in enumerate(ids):
        if ack is None or position in ack:
            await redis.xack(STREAM, group, entry_id)
    return ids


async def remaining(redis: Redis) -> list[str]:
    return [entry_id.decode() for entry_id, _ in await redis.xrange(STREAM)]


async def test_publishers_do_not_length_trim_journaled_streams(redis: Redis) -> None:
    publisher = Publisher(redis, maxlen=100)
    for i in range(500):
        await publisher.publish(STREAM, funding(f"d{i}", 1.0))
        await publisher.publish(STREAM_OPPORTUNITIES, funding(f"d{i}", 1.0))
    assert await redis.xlen(STREAM) == 500
    assert await redis.xlen(STREAM_OPPORTUNITIES) < 500  # the others still are


async def test_nothing_is_trimmed_before_the_journal_has_a_group(redis: Redis) -> None:
    await publish(redis, 10)
    assert await trim_handled(redis, STREAM, older_than_s=0) == 0
    assert await redis.xlen(STREAM) == 10


async def test_trim_stops_at_the_oldest_entry_the_journal_has_not_stored(redis: Redis) -> None:
    ids = await publish(redis, 20)
    await redis.xgroup_create(STREAM, "journal", id="0")
    # Entries 0-9 delivered: 0-3 acked, 4 pending (a handler failed or the writer died), 5-9 acked;
    # entries 10-19 not even delivered yet.
    await handle(redis, "journal", 10, ack=[0, 1, 2, 3, 5, 6, 7, 8, 9])
    assert await oldest_unhandled(redis, STREAM, "journal") == (parse_id(ids[4]), 11)
    assert await trim_handled(redis, STREAM, older_than_s=0) == 4
    assert await remaining(redis) == ids[4:]  # the pending one and everything after it stay

    await redis.xack(STREAM, "journal", ids[4])  # stored at last
    assert await trim_handled(redis, STREAM, older_than_s=0) == 6
    assert await remaining(redis) == ids[10:]  # the undelivered ones stay

    await handle(redis, "journal", 10)
    assert await oldest_unhandled(redis, STREAM, "journal") == (None, 0)
    assert await trim_handled(redis, STREAM, older_than_s=0) == 10
    assert await redis.xlen(STREAM) == 0


async def test_a_lagging_notifier_also_holds_the_trim(redis: Redis) -> None:
    ids = await publish(redis, 6)
    for group in ("journal", "notifier"):
        await redis.xgroup_create(STREAM, group, id="0")
    await handle(redis, "journal", 6)
    await handle(redis, "notifier", 2)
    assert await trim_handled(redis, STREAM, older_than_s=0) == 2
    assert await remaining(redis) == ids[2:]


async def test_entries_younger_than_the_retention_age_stay(redis: Redis) -> None:
    ids = [f"{second * 1000}-0" for second in range(1, 6)]  # added at 1 s, 2 s ... 5 s after the epoch
    for entry_id in ids:
        await redis.xadd(STREAM, encode(funding("d1", 1.0)), id=entry_id)  # type: ignore[arg-type]
    await redis.xgroup_create(STREAM, "journal", id="0")
    await handle(redis, "journal", 5)
    assert await trim_handled(redis, STREAM, older_than_s=3600, now=3600.5) == 0
    assert await trim_handled(redis, STREAM, older_than_s=3600, now=3602.5) == 2  # those of 1 s and 2 s
    assert await remaining(redis) == ids[2:]


async def test_lag_is_the_age_of_the_oldest_unstored_entry(redis: Redis) -> None:
    watcher = LagWatcher(redis)
    await publish(redis, 3)
    await redis.xgroup_create(STREAM, "journal", id="0")
    figures = (await watcher.lag())[STREAM]
    assert figures["unstored"] == 3
    assert 0 <= figures["lag_seconds"] < time.time()  # measured from the first entry's id
    await handle(redis, "journal", 3)
    assert (await watcher.lag())[STREAM] == {"lag_seconds": 0.0, "unstored": 0}
