"""The in-process L1: a bounded LRU of entries in front of Redis, each kept for at most ``ttl_s``.

An L1 copy never outlives its entry's fresh window, and other processes empty it by tier or symbol
through invalidation events. Values are shared by every reader of the process, so nobody may change
them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from shared.cache.model import Entry, Tier
from shared.cache.stats import L1_EVICTIONS


@dataclass
class L1Item:
    entry: Entry
    expires: float
    tier: Tier
    symbol: str


class L1:
    def __init__(self, max_entries: int, ttl_s: float, clock: Callable[[], float]) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[str, L1Item] = OrderedDict()
        self.evictions = 0
        self._eviction_counters = {tier: L1_EVICTIONS.labels(tier.value) for tier in Tier}

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.ttl_s > 0

    def get(self, key: str) -> L1Item | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item.expires <= self._clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item

    def put(self, key: str, entry: Entry, tier: Tier, symbol: str) -> None:
        if not self.enabled:
            return
        expires = min(entry.fresh_until, self._clock() + self.ttl_s)
        self._items[key] = L1Item(entry, expires, tier, symbol)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            _, evicted = self._items.popitem(last=False)
            self._eviction_counters[evicted.tier].inc()
            self.evictions += 1

    def invalidate(self, tier: str | None, symbol: str | None) -> None:
        doomed = [
            key
            for key, item in self._items.items()
            if (tier is None or item.tier.value == tier) and (symbol is None or item.symbol == symbol)
        ]
        for key in doomed:
            del self._items[key]

    def clear(self) -> None:
        self._items.clear()

    def count(self, tier: Tier) -> int:
        return sum(1 for item in self._items.values() if item.tier == tier)
