"""Waiting for a condition, never for a duration: the two loops every test and tool uses.

``wait_until`` for synchronous code (process supervision), ``eventually`` in async tests; both return as
soon as the condition holds and give up only after a generous bound, so a busy machine is slower, not red.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError


def wait_until(check: Callable[[], object], timeout_s: float, interval_s: float = 0.05) -> bool:
    """True as soon as ``check()`` is truthy; False once ``timeout_s`` has passed without it."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


async def eventually(
    check: Callable[[], Any], timeout_s: float = 30.0, interval_s: float = 0.02, what: str = ""
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout_s:g} s{': ' + what if what else ''}")
        await asyncio.sleep(interval_s)


async def gone(redis: Redis, keys: Sequence[str]) -> bool:
    """None of ``keys`` exists any more (an expiry has happened)."""
    return int(await redis.exists(*keys)) == 0


async def caught_up(redis: Redis, group: str, streams: Sequence[str]) -> bool:
    """``group`` has read and acked every entry of each of ``streams`` (nothing pending, nothing new)."""
    for stream in streams:
        try:
            groups = await redis.xinfo_groups(stream)
        except ResponseError:  # no such stream yet
            return False
        found = [g for g in groups if (g["name"].decode() if isinstance(g["name"], bytes) else g["name"]) == group]
        if not found or found[0]["pending"] or found[0]["lag"]:
            return False
    return True
