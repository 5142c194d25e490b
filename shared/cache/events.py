"""The cache's pub/sub channel: fills wake waiters in other processes, invalidations empty their L1s.

Lock holders publish ``filled``, ``released`` or ``failed`` for a key (from Lua, with the write);
:class:`CacheEvents` listens, wakes this process's waiters on that key, and applies invalidations to
the L1. While unsubscribed it cannot hear invalidations, so it starts from an empty L1 whenever it
subscribes again; waiters poll meanwhile, so a lost event only costs a poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from shared import keys
from shared.cache.l1 import L1

log = logging.getLogger(__name__)


@dataclass
class _FillSignal:
    """Set when the lock holder for a key publishes; ``failure`` says why when its fetch failed."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    failure: str | None = None


def fill_event(key: str) -> bytes:
    return orjson.dumps({"op": "filled", "key": key})


def release_event(key: str, failure: str | None) -> bytes:
    return orjson.dumps({"op": "failed", "key": key, "error": failure} if failure else {"op": "released", "key": key})


class CacheEvents:
    def __init__(self, redis: Redis, prefix: str, l1: L1) -> None:
        self._redis = redis
        self._l1 = l1
        self.channel = keys.cache_events_channel(prefix)
        self._signals: dict[str, _FillSignal] = {}
        self.listening = asyncio.Event()

    async def wait_for_fill(self, key: str, timeout_s: float) -> str | None:
        """Sleep until ``key``'s holder publishes, or ``timeout_s`` passes; the failure reason if it failed."""
        signal = self._signals.setdefault(key, _FillSignal())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.event.wait(), timeout_s)
        if signal.event.is_set() and self._signals.get(key) is signal:
            del self._signals[key]
        return signal.failure

    def waiting(self, key: str) -> bool:
        """Whether a caller of this process is waiting for ``key``'s fill now."""
        return key in self._signals

    async def publish_invalidation(self, tier: str | None, symbol: str | None) -> None:
        event = {"op": "invalidate", "tier": tier, "symbol": symbol}
        await self._redis.publish(self.channel, orjson.dumps(event))
        self._l1.invalidate(tier, symbol)

    async def listen(self) -> None:
        """Runs until cancelled, subscribing again (with backoff) whenever the subscription is lost."""
        backoff = 0.05
        while True:
            pubsub: PubSub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._l1.clear()  # invalidations may have been missed while unsubscribed
                self.listening.set()
                backoff = 0.05
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.on_event(message["data"])
            except Exception as error:  # keep listening whatever happens; L1 is emptied on resubscribe
                self.listening.clear()
                log.warning("cache event subscription lost: %s", type(error).__name__)
                await asyncio.sleep(backoff)
                backoff = min(2.0, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def on_event(self, data: bytes) -> None:
        try:
            event: dict[str, Any] = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if event.get("op") == "invalidate":
            self._l1.invalidate(event.get("tier"), event.get("symbol"))
            return
        signal = self._signals.get(event.get("key", ""))
        if signal is not None:
            if event.get("op") == "failed":
                signal.failure = str(event.get("error") or "unknown error")
            signal.event.set()
