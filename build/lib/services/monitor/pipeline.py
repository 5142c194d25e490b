"""Pipeline figures read from Redis: stream lengths, consumer lag, pending entries, dead letters."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared import keys

PIPELINE_STREAMS = (keys.STREAM_OPPORTUNITIES, keys.STREAM_ANALYSES, keys.STREAM_DECISIONS, keys.STREAM_EXECUTIONS)
RECENT_DEAD_LETTERS = 10


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


async def stream_figures(redis: Redis, stream: str) -> dict[str, Any]:
    try:
        length = await redis.xlen(stream)
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return {"length": 0, "groups": {}}
    return {
        "length": length,
        "groups": {
            _text(g["name"]): {
                "pending": int(g.get("pending") or 0),
                "lag": int(g.get("lag") or 0),
                "consumers": int(g.get("consumers") or 0),
            }
            for g in groups
        },
    }


async def pipeline_figures(redis: Redis) -> dict[str, Any]:
    streams = {stream: await stream_figures(redis, stream) for stream in PIPELINE_STREAMS}
    dead = await redis.xrevrange(keys.STREAM_DEADLETTER, count=RECENT_DEAD_LETTERS)
    return {
        "streams": streams,
        "dead_letters": {
            "total": await redis.xlen(keys.STREAM_DEADLETTER),
            "recent": [
                {
                    "stream": _text(f.get(b"stream")),
                    "reason": _text(f.get(b"reason")),
                    "entry_id": _text(f.get(b"entry_id")),
                }
                for _, f in dead
            ],
        },
        "max_lag": max((g["lag"] for s in streams.values() for g in s["groups"].values()), default=0),
        "max_pending": max((g["pending"] for s in streams.values() for g in s["groups"].values()), default=0),
    }
