"""Bare redis-py stream loops: the references B3 measures the services against, on the machine of the day.

``python -m bench.bare consume REDIS_URL SOURCE TARGET GROUP COUNT BATCH`` reads batches of BATCH entries
of SOURCE as consumer group GROUP and, for each batch, sends one pipeline with an XADD of every entry to
TARGET and one XACK of all of them; it prints, as JSON, how long the COUNT entries took from the first
read. That is the most this read-publish-ack pattern can do here, with nothing else in the loop.

``python -m bench.bare relay REDIS_URL SOURCE TARGET GROUP BATCH [--stamp]`` does the same forever (until
SIGTERM), stamping ``done_at`` on what it forwards when asked: three of them in a row are a bare relay
of the pipeline's stream hops.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson
from redis.asyncio import Redis

CONSUMER = "bare"


async def _forward_batch(redis: Redis, source: str, target: str, group: str, batch: int, *, stamp: bool) -> int:
    reply = await redis.xreadgroup(group, CONSUMER, {source: ">"}, count=batch, block=100)
    if not reply:
        return 0
    entries = reply[0][1]
    async with redis.pipeline(transaction=False) as pipe:
        for _entry_id, fields in entries:
            if stamp:
                fields[b"done_at"] = repr(time.time()).encode()
            pipe.xadd(target, fields, maxlen=1_000_000, approximate=True)
        pipe.xack(source, group, *(entry_id for entry_id, _ in entries))
        await pipe.execute()
    return len(entries)


async def consume(url: str, source: str, target: str, group: str, count: int, batch: int) -> None:
    redis = Redis.from_url(url)
    done, started = 0, 0.0
    while done < count:
        forwarded = await _forward_batch(redis, source, target, group, batch, stamp=False)
        if forwarded and not done:
            started = time.perf_counter()  # from the first read: the process's start is not the loop's
        done += forwarded
    print(orjson.dumps({"messages": done, "seconds": time.perf_counter() - started}).decode())
    await redis.aclose()


async def relay(url: str, source: str, target: str, group: str, batch: int, stamp: bool) -> None:
    redis = Redis.from_url(url)
    while True:
        await _forward_batch(redis, source, target, group, batch, stamp=stamp)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    roles = parser.add_subparsers(dest="role", required=True)
    for role in ("consume", "relay"):
        sub = roles.add_parser(role)
        for name in ("redis_url", "source", "target", "group"):
            sub.add_argument(name)
        if role == "consume":
            sub.add_argument("count", type=int)
        sub.add_argument("batch", type=int)
        if role == "relay":
            sub.add_argument("--stamp", action="store_true")
    args = parser.parse_args(argv)
    if args.role == "consume":
        asyncio.run(consume(args.redis_url, args.source, args.target, args.group, args.count, args.batch))
    else:
        asyncio.run(relay(args.redis_url, args.source, args.target, args.group, args.batch, args.stamp))


if __name__ == "__main__":
    main(sys.argv[1:])
