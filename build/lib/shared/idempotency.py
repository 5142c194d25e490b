"""Processed-message keys with a TTL, so a handler can skip what it already did.

Delivery is at-least-once: a consumer that dies after its side effect but before its ack sees the
entry again. Handlers whose side effects are not naturally idempotent check :meth:`is_done` first and
call :meth:`mark_done` after the effect (or use :meth:`claim` to do both atomically when the effect
itself is a Redis write in the same transaction).
"""

from __future__ import annotations

from redis.asyncio import Redis

from shared import keys


class ProcessedMessages:
    def __init__(self, redis: Redis, *, namespace: str, ttl_s: int, prefix: str = "tp") -> None:
        self._redis = redis
        self._namespace = namespace
        self._ttl_s = ttl_s
        self._prefix = prefix

    def key(self, message_id: str) -> str:
        return keys.processed_message(self._prefix, self._namespace, message_id)

    async def is_done(self, message_id: str) -> bool:
        return bool(await self._redis.exists(self.key(message_id)))

    async def mark_done(self, message_id: str) -> None:
        await self._redis.set(self.key(message_id), b"1", ex=self._ttl_s)

    async def claim(self, message_id: str) -> bool:
        """Mark as done if it was not; True for the first caller only (SET NX)."""
        return bool(await self._redis.set(self.key(message_id), b"1", ex=self._ttl_s, nx=True))

    async def forget(self, message_id: str) -> None:
        await self._redis.delete(self.key(message_id))
