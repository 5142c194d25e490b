"""Every Redis key and channel shape the project uses, defined once.

Cache keys carry a TTL (they may live in an LRU-evicting Redis); stream, trading-state and lock
keys do not (they need ``noeviction``/``volatile-lru``, see deploy/).
"""

from __future__ import annotations

# Streams between services.
STREAM_OPPORTUNITIES = "stream:opportunities"
STREAM_ANALYSES = "stream:analyses"
STREAM_DECISIONS = "stream:decisions"
STREAM_EXECUTIONS = "stream:executions"
STREAM_DEADLETTER = "stream:deadletter"

# Trading state (execution writes, ia2 and monitor read): no TTL, never evicted.
POSITIONS = "tp:trading:positions"  # hash symbol -> Position
ACCOUNT = "tp:trading:account"  # hash of AccountState fields
ORDERS = "tp:trading:orders"  # hash client_order_id -> Order
TRADES = "tp:trading:trades"  # list of Trade, newest first, capped
EQUITY_CURVE = "tp:trading:equity"  # list of [ts, equity], newest first, capped
HALT = "tp:trading:halt"  # JSON {reason, at}: new entries stopped until an operator resets it
KILL_SWITCH = "tp:trading:kill"  # JSON {reason, at}: no new orders at all
OUTCOMES = "tp:trading:outcomes"  # hash "<signal_kind>:wins|losses" -> count, for adaptive confidence

# monitor
MONITOR_HISTORY = "tp:monitor:history"  # sorted set by time of JSON samples, trimmed to the retention window


def cache_entry(prefix: str, tier: str, key: str) -> str:
    return f"{prefix}:cache:{tier}:{key}"


def cache_pattern(prefix: str, tier: str = "*", key: str = "*") -> str:
    return f"{prefix}:cache:{tier}:{key}"


def cache_lock(prefix: str, tier: str, key: str) -> str:
    return f"{prefix}:lock:{tier}:{key}"


def cache_events_channel(prefix: str) -> str:
    """Pub/sub channel for fills (wakes waiters in other processes) and invalidations (clears L1s)."""
    return f"{prefix}:cache-events"


def cache_stats(prefix: str) -> str:
    """Hash of cumulative cache counters, field ``tier:level:outcome``, summed over all processes."""
    return f"{prefix}:cache-stats"


def processed_message(prefix: str, namespace: str, message_id: str) -> str:
    return f"{prefix}:processed:{namespace}:{message_id}"
