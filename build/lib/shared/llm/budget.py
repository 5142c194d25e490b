"""Requests and tokens per hour for one service, shared by all its replicas through Redis.

A request is reserved before the call (so replicas racing for the last one cannot both take it) and
its tokens are added after. When either is spent, ``reserve`` says no and the caller uses the rules.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

# KEYS[1] budget hash; ARGV: max requests, max tokens, ttl ms. Returns 1 when a request was reserved.
_RESERVE = """
local requests = tonumber(redis.call('HGET', KEYS[1], 'requests') or '0')
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or '0')
if requests >= tonumber(ARGV[1]) or tokens >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'requests', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

HOUR_S = 3600


class LlmBudget:
    def __init__(self, redis: Redis, service: str, *, max_requests: int, max_tokens: int, prefix: str = "tp") -> None:
        self._redis = redis
        self.service = service
        self.max_requests = max_requests
        self.max_tokens = max_tokens
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)

    def _key(self, now: float | None = None) -> str:
        hour = int((now if now is not None else time.time()) // HOUR_S)
        return f"{self._prefix}:llm:budget:{self.service}:{hour}"

    async def reserve(self) -> bool:
        granted = await self._reserve(keys=[self._key()], args=[self.max_requests, self.max_tokens, 2 * HOUR_S * 1000])
        return bool(granted)

    async def spend_tokens(self, tokens: int) -> None:
        await self._redis.hincrby(self._key(), "tokens", tokens)  # type: ignore[misc]

    async def left(self) -> dict[str, int]:
        used = await self._redis.hgetall(self._key())  # type: ignore[misc]
        requests = int(used.get(b"requests", 0))
        tokens = int(used.get(b"tokens", 0))
        return {"requests": max(0, self.max_requests - requests), "tokens": max(0, self.max_tokens - tokens)}
