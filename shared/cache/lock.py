"""The per-key fill lock that makes N callers in M processes cause one upstream call.

One Lua round trip takes the lock if it is free and returns the entry as it is, so a caller learns at
once whether it fills or joins. The holder writes the entry, releases the lock (only if it is still
its own: the token fences it) and tells waiters, all in one script.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from shared import keys

# SET the lock if free, and return the entry as it is now: one round trip decides leader or follower.
_ACQUIRE_OR_GET = """
local acquired = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
local entry = redis.call('GET', KEYS[1])
if acquired then return {1, entry} end
return {0, entry}
"""
# Write the entry, tell waiters, and release the lock only if it is still ours.
_FILL = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""


class LockScripts:
    """The scripts, registered once per client (then sent by digest)."""

    def __init__(self, redis: Redis) -> None:
        self.acquire_or_get = redis.register_script(_ACQUIRE_OR_GET)
        self.fill = redis.register_script(_FILL)
        self.release = redis.register_script(_RELEASE)


class FillLock:
    """One attempt at a key's lock: ``acquire_or_get``, then ``fill`` or ``release`` when acquired."""

    def __init__(
        self, scripts: LockScripts, prefix: str, tier: str, entry_key: str, channel: str, ttl_s: float
    ) -> None:
        self._scripts = scripts
        self.entry_key = entry_key
        self.key = keys.cache_lock(prefix, tier, entry_key)
        self._channel = channel
        self._ttl_ms = int(ttl_s * 1000)
        self.token = uuid.uuid4().hex

    async def acquire_or_get(self) -> tuple[bool, bytes | None]:
        """(whether we hold the lock now, the entry's raw bytes as they are)."""
        acquired, raw = await self._scripts.acquire_or_get(
            keys=[self.entry_key, self.key], args=[self.token, self._ttl_ms]
        )
        return bool(acquired), raw

    async def fill(self, raw_entry: bytes, ttl_ms: int, event: bytes) -> None:
        await self._scripts.fill(
            keys=[self.entry_key, self.key], args=[raw_entry, ttl_ms, self.token, self._channel, event]
        )

    async def release(self, event: bytes) -> None:
        await self._scripts.release(keys=[self.key], args=[self.token, self._channel, event])
