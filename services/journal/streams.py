"""The journaled streams as the journal sees them: how far behind it is, and trimming them safely.

A group has *handled* an entry once it acked it. The oldest entry a group has not handled is its oldest
pending entry, or else the first entry after its last delivered one. Trimming removes only entries older
than that for every guarding group (the journal's, and the notifier's where it reads the stream), and older
than the retention age: an entry the journal has not stored is never trimmed, however long it is down.
Entry ids start with their time in milliseconds, which gives the lag in seconds for free.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Gauge
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared import keys, metrics
from shared.periodic import Periodic

GUARDING_GROUPS = ("journal", "notifier")
LAG_SECONDS = Gauge(
    metrics.name("journal_lag_seconds"), "Age of the oldest entry the journal has not stored yet", ["stream"]
)
UNSTORED = Gauge(metrics.name("journal_unstored_entries"), "Entries the journal has not stored yet", ["stream"])

EntryId = tuple[int, int]


def parse_id(entry_id: str | bytes) -> EntryId:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def format_id(entry_id: EntryId) -> str:
    return f"{entry_id[0]}-{entry_id[1]}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _group(redis: Redis, stream: str, group: str) -> dict[str, Any] | None:
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream
        return None
    return next((g for g in groups if _text(g["name"]) == group), None)


async def oldest_unhandled(redis: Redis, stream: str, group: str) -> tuple[EntryId | None, int]:
    """The id of the oldest entry ``group`` has not acked (None: it handled them all), and how many it has
    not. Raises LookupError when the group does not exist (then nothing is known to be handled)."""
    info = await _group(redis, stream, group)
    if info is None:
        raise LookupError(f"no group {group} on {stream}")
    pending = int(info.get("pending") or 0)
    undelivered = await redis.xrange(stream, min=f"({_text(info['last-delivered-id'])}", count=1)
    behind = pending + await _undelivered_count(redis, stream, info)
    if pending:
        summary = await redis.xpending(stream, group)
        return parse_id(summary["min"]), behind
    return (parse_id(undelivered[0][0]) if undelivered else None), behind


async def _undelivered_count(redis: Redis, stream: str, info: dict[str, Any]) -> int:
    lag = info.get("lag")
    if lag is not None:
        return int(lag)
    # Redis cannot tell (entries were deleted in between): count them, they are few when this happens.
    return len(await redis.xrange(stream, min=f"({_text(info['last-delivered-id'])}", count=100_000))


async def safe_trim_point(
    redis: Redis, stream: str, *, older_than_s: float, now: float | None = None
) -> EntryId | None:
    """The id below which every entry is handled by every guarding group and older than the retention age;
    None when nothing may be trimmed (the journal has no group on the stream yet)."""
    now = time.time() if now is None else now
    point: EntryId = (int((now - older_than_s) * 1000), 0)
    for group in GUARDING_GROUPS:
        try:
            oldest, _behind = await oldest_unhandled(redis, stream, group)
        except LookupError:
            if group == "journal":
                return None
            continue
        if oldest is not None:
            point = min(point, oldest)
    return point


async def trim_handled(redis: Redis, stream: str, *, older_than_s: float, now: float | None = None) -> int:
    """Remove the entries below the safe point; the number removed."""
    point = await safe_trim_point(redis, stream, older_than_s=older_than_s, now=now)
    if point is None:
        return 0
    return int(await redis.xtrim(stream, minid=format_id(point), approximate=False))


class LagWatcher(Periodic):
    """Publishes how far behind the journal is on each stream, for the JournalLagging alert."""

    name = "journal-lag"

    def __init__(self, redis: Redis, *, interval_s: float = 5.0) -> None:
        super().__init__(interval_s)
        self._redis = redis
        for stream in keys.JOURNALED_STREAMS:
            LAG_SECONDS.labels(stream)
            UNSTORED.labels(stream)

    async def lag(self) -> dict[str, dict[str, float]]:
        figures: dict[str, dict[str, float]] = {}
        now_ms = time.time() * 1000
        for stream in sorted(keys.JOURNALED_STREAMS):
            try:
                oldest, behind = await oldest_unhandled(self._redis, stream, "journal")
            except LookupError:
                oldest, behind = None, 0
            seconds = max(0.0, (now_ms - oldest[0]) / 1000) if oldest else 0.0
            LAG_SECONDS.labels(stream).set(seconds)
            UNSTORED.labels(stream).set(behind)
            figures[stream] = {"lag_seconds": round(seconds, 3), "unstored": behind}
        return figures

    async def step(self) -> None:
        await self.lag()
