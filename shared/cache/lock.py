"""The per-key fill lock that makes N callers in M processes cause one upstream call.

One Lua round trip takes the lock if it is free and returns the entry as it is, so a caller learns at
once whether it fills or joins. The lock is a short lease (``lock_ttl_s``, 2 s by default) that the
holder renews while its fetch runs (:meth:`FillLock.kept_alive`): a holder that dies (SIGKILL, lost
host) costs waiters at most one lease, while a slow but live fetch keeps the lock however long it takes,
so no second fetch starts beside it. Every renewal, write and release is fenced by the holder's token:
a holder whose lease lapsed (a long pause) never extends, releases or overwrites what another holder
now owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from shared import keys

log = logging.getLogger(__name__)

RENEWALS_PER_LEASE = 3  # a renewal may be late twice before the lease lapses

# SET the lock if free, and return the entry as it is now: one round trip decides leader or follower.
_ACQUIRE_OR_GET = """
local acquired = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
local entry = redis.call('GET', KEYS[1])
if acquired then return {1, entry} end
return {0, entry}
"""
# Extend the lease only while the lock is still ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# Write the entry and tell waiters, unless another holder owns the lock now (its fill is the newer one);
# release the lock if it is ours. Returns 1 when written.
_FILL = """
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if holder then redis.call('DEL', KEYS[2]) end
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
        self.renew = redis.register_script(_RENEW)
        self.fill = redis.register_script(_FILL)
        self.release = redis.register_script(_RELEASE)


class FillLock:
    """One attempt at a key's lock: ``acquire_or_get``, then, when acquired, ``fill`` or ``release``."""

    def __init__(
        self, scripts: LockScripts, prefix: str, tier: str, entry_key: str, channel: str, ttl_s: float
    ) -> None:
        self._scripts = scripts
        self.entry_key = entry_key
        self.key = keys.cache_lock(prefix, tier, entry_key)
        self._channel = channel
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self.token = uuid.uuid4().hex

    async def acquire_or_get(self) -> tuple[bool, bytes | None]:
        """(whether we hold the lock now, the entry's raw bytes as they are)."""
        acquired, raw = await self._scripts.acquire_or_get(
            keys=[self.entry_key, self.key], args=[self.token, self._ttl_ms]
        )
        return bool(acquired), raw

    @contextlib.asynccontextmanager
    async def kept_alive(self) -> AsyncIterator[None]:
        """Renew the lease in the background for as long as the body runs."""
        heartbeat = asyncio.create_task(self._renew_until_lost(), name=f"lease:{self.key}")
        try:
            yield
        finally:
            heartbeat.cancel()

    async def _renew_until_lost(self) -> None:
        interval_s = self._ttl_ms / 1000 / RENEWALS_PER_LEASE
        while True:
            await asyncio.sleep(interval_s)
            try:
                renewed = await self._scripts.renew(keys=[self.key], args=[self.token, self._ttl_ms])
            except Exception as error:  # Redis away for a moment: the next beat tries again
                log.warning("lock renewal failed: %s", type(error).__name__, extra={"key": self.entry_key})
                continue
            if not renewed:
                log.warning("fill lock lost before the fetch ended", extra={"key": self.entry_key})
                return

    async def fill(self, raw_entry: bytes, ttl_ms: int, event: bytes) -> bool:
        """Write the entry unless another holder owns the lock now; True when written."""
        written = await self._scripts.fill(
            keys=[self.entry_key, self.key], args=[raw_entry, ttl_ms, self.token, self._channel, event]
        )
        return bool(written)

    async def release(self, event: bytes) -> None:
        await self._scripts.release(keys=[self.key], args=[self.token, self._channel, event])
