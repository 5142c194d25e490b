"""The tiered cache every service shares through Redis, with a small in-process L1 in front.

A read walks these steps, and stops at the first that answers:

1. **L1** (this process): a fresh copy younger than ``l1_ttl``.
2. **In-process single-flight**: another coroutine of this process is already loading the key; join it.
3. **Redis** (``GET``): a fresh entry.
4. **Lock or join** (one Lua round trip): the lock holder calls the upstream and writes the entry;
   everyone else either serves the stale copy at once (stale-while-revalidate) or, when there is none,
   waits for the holder's fill, woken by a pub/sub event, so N callers in M processes cause one
   upstream call.
5. **Stale-if-error**: when the upstream raises and a stale copy exists, the stale copy is served.

Every entry is stored as ``[fresh_until_ms, fetched_at_ms, value]`` (compact JSON) with a Redis TTL of
fresh + stale window, so each cache key expires by itself and can live in an LRU-evicting Redis.
Values must be JSON-serialisable and must not be mutated by callers (L1 hands out shared objects).

Modules: ``model`` (tiers, config, entry), ``l1``, ``read_path`` (Redis, lock, waiting, stale serving),
``lock``, ``events`` (pub/sub: fills and invalidation), ``stats``, ``tiered`` (the public TieredCache).
"""

from shared.cache.model import CacheConfig, Entry, FreshUntil, Refresh, Shape, Tier, TierPolicy
from shared.cache.tiered import TieredCache

__all__ = ["CacheConfig", "Entry", "FreshUntil", "Refresh", "Shape", "Tier", "TierPolicy", "TieredCache"]
