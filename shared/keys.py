"""Every Redis key and channel shape the project uses, defined once.

Cache keys carry a TTL (they may live in an LRU-evicting Redis); stream, trading-state and lock
keys do not (they need ``noeviction``/``volatile-lru``, see deploy/).
"""

from __future__ import annotations

from dataclasses import dataclass

# Streams between services.
STREAM_OPPORTUNITIES = "stream:opportunities"
STREAM_ANALYSES = "stream:analyses"
STREAM_DECISIONS = "stream:decisions"
STREAM_EXECUTIONS = "stream:executions"
STREAM_EVENTS = "stream:events"  # account events that are not orders: equity, halts, kill switch, alerts...
STREAM_DEADLETTER = "stream:deadletter"

# Streams the journal stores. Publishers never trim them by length: the journal service trims them by id,
# only below what its groups have acknowledged (services/journal/streams.py), so nothing is lost unstored.
JOURNALED_STREAMS = frozenset({STREAM_ANALYSES, STREAM_DECISIONS, STREAM_EXECUTIONS, STREAM_EVENTS})

# Trading state (execution writes, ia2 and monitor read): no TTL, never evicted. Each book (paper, or one
# live exchange account) has keys of its own, so neither can see or change the other; execution names
# the book it trades on in ACTIVE_BOOK, which is where ia2 and monitor read.
ACTIVE_BOOK = "tp:trading:active-book"
PAPER_BOOK = "paper"
KILL_SWITCH = "tp:trading:kill"  # JSON {reason, at}: no new orders at all, whatever the book
OUTCOMES = "tp:trading:outcomes"  # hash "<signal_kind>:wins|losses" -> count, for adaptive confidence


def live_book(exchange_id: str, account_id: str) -> str:
    """The book of one live account: ``account_id`` is a hash of the API key, never the key itself."""
    return f"live-{exchange_id}-{account_id}"


@dataclass(frozen=True)
class BookKeys:
    book: str

    def _key(self, name: str) -> str:
        return f"tp:trading:{self.book}:{name}"

    @property
    def positions(self) -> str:  # hash symbol -> Position
        return self._key("positions")

    @property
    def account(self) -> str:  # hash of AccountState fields
        return self._key("account")

    @property
    def orders(self) -> str:  # hash client_order_id -> Order (pending ones are reservations)
        return self._key("orders")

    @property
    def trades(self) -> str:  # list of Trade, newest first, capped
        return self._key("trades")

    @property
    def equity(self) -> str:  # list of [ts, equity], newest first, capped
        return self._key("equity")

    @property
    def halt(self) -> str:  # JSON {reason, at}: new entries stopped until an operator resets it
        return self._key("halt")

    @property
    def reservations(self) -> str:  # hash client_order_id -> Order being placed: counted by every cap
        return self._key("reservations")

    @property
    def discrepancies(self) -> str:  # list of reconciliation findings, newest first, capped
        return self._key("discrepancies")

    @property
    def symbol_setup(self) -> str:  # hash symbol -> leverage and margin mode set on the exchange, or why not
        return self._key("symbol-setup")


def book_keys(book: str) -> BookKeys:
    return BookKeys(book)


# Where paper state lived before books existed; moved into the paper book on execution's first start.
LEGACY_PAPER_KEYS = {
    "tp:trading:positions": "positions",
    "tp:trading:account": "account",
    "tp:trading:orders": "orders",
    "tp:trading:trades": "trades",
    "tp:trading:equity": "equity",
    "tp:trading:halt": "halt",
}

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


def notify_sent(key: str) -> str:
    """A notification's dedup key: "pending" while it is being sent, then "sent", until the dedup window ends."""
    return f"tp:notify:sent:{key}"


def notify_cooldown(topic: str) -> str:
    """Present while a topic (one alert, say) may not notify again."""
    return f"tp:notify:cooldown:{topic}"


def notify_budget(hour: int) -> str:
    """Notifications sent in that hour (hours since the epoch, UTC)."""
    return f"tp:notify:budget:{hour}"
