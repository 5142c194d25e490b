"""Sending notifications through apprise, deduplicated and rate-limited in Redis (shared by replicas).

Every note has a dedup key; its Redis key reads "pending" while it is being sent and "sent" after, for the
dedup window. A second delivery of the same message finds "sent" and stops; one finding "pending" (a copy
in flight, or a process killed mid-send) fails and is retried after the lease, so a crash delays a note
rather than losing it. Then:

- a note with a topic (an alert and its state) is sent at most once per cooldown: a flapping alert cannot
  flood a phone;
- unless critical (halt, kill switch, liquidation), at most ``max_per_hour`` notes are sent per UTC hour.

Notes held back by either rule are counted, not retried. The URLs hold tokens: they are never logged, and a
URL apprise cannot read stops the service at start with its position in the list, not its text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Literal

import apprise
from prometheus_client import Counter
from redis.asyncio import Redis

from shared import keys, metrics
from shared.contracts import Severity
from shared.errors import ConfigurationError, TradepipeError

log = logging.getLogger(__name__)

NOTIFICATIONS = Counter(metrics.name("notifications_total"), "Notifications by kind and outcome", ["kind", "outcome"])
Outcome = Literal["sent", "duplicate", "cooldown", "rate_limited", "disabled"]
LEASE_S = 120  # how long a "pending" claim lives: past it, a crashed sender's note is sent again
_TYPES = {
    "info": apprise.NotifyType.INFO,
    "warning": apprise.NotifyType.WARNING,
    "critical": apprise.NotifyType.FAILURE,
}


class NotificationFailed(TradepipeError):
    """Not delivered (or delivery in flight elsewhere); the stream entry stays pending and is retried."""


@dataclass(frozen=True)
class Note:
    kind: str  # metric label: position_opened, stop_loss, halt, alert, daily_summary...
    key: str  # the same key is sent once per dedup window
    title: str
    body: str
    severity: Severity = "info"
    topic: str | None = None  # at most one note per topic per cooldown


def load_targets(urls: list[str]) -> apprise.Apprise:
    targets = apprise.Apprise()
    for position, url in enumerate(urls, start=1):
        if not targets.add(url):
            raise ConfigurationError(f"NOTIFY_URLS: entry {position} of {len(urls)} is not a URL apprise supports")
    return targets


class Notifier:
    def __init__(
        self,
        redis: Redis,
        targets: apprise.Apprise,
        *,
        dedup_window_s: int,
        cooldown_s: int,
        max_per_hour: int,
        timeout_s: float,
    ) -> None:
        self._redis = redis
        self._targets = targets
        self._dedup_window_s = dedup_window_s
        self._cooldown_s = cooldown_s
        self._max_per_hour = max_per_hour
        self._timeout_s = timeout_s
        # apprise says what failed at WARNING, sometimes with parts of the URL: its errors are ours to report.
        logging.getLogger("apprise").setLevel(logging.CRITICAL)

    @property
    def targets(self) -> int:
        return len(self._targets)

    async def send(self, note: Note) -> Outcome:
        outcome = await self._send(note)
        NOTIFICATIONS.labels(note.kind, outcome).inc()
        return outcome

    async def _send(self, note: Note) -> Outcome:
        if not self.targets:
            return "disabled"
        claim = keys.notify_sent(note.key)
        if not await self._redis.set(claim, b"pending", nx=True, ex=LEASE_S):
            if await self._redis.get(claim) == b"sent":
                return "duplicate"
            raise NotificationFailed(f"notification {note.key} is being sent elsewhere; retrying later")
        held_back = await self._held_back(note)
        if held_back is None:
            try:
                await self._deliver(note)
            except Exception as error:
                await self._redis.delete(claim, *([keys.notify_cooldown(note.topic)] if note.topic else []))
                NOTIFICATIONS.labels(note.kind, "failed").inc()
                raise NotificationFailed(f"notification {note.kind} not delivered: {type(error).__name__}") from None
        await self._redis.set(claim, b"sent", ex=self._dedup_window_s)
        return held_back or "sent"

    async def _held_back(self, note: Note) -> Outcome | None:
        # The cooldown holds for critical alerts too (a flapping ServiceDown is critical); the budget does not.
        cooldown = keys.notify_cooldown(note.topic) if note.topic and self._cooldown_s else None
        if cooldown and not await self._redis.set(cooldown, b"1", nx=True, ex=self._cooldown_s):
            return "cooldown"
        if note.severity == "critical":
            return None
        budget = keys.notify_budget(int(time.time() // 3600))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(budget)
            pipe.expire(budget, 7200)
            used, _ = await pipe.execute()
        return "rate_limited" if int(used) > self._max_per_hour else None

    async def _deliver(self, note: Note) -> None:
        delivered = await asyncio.wait_for(
            self._targets.async_notify(body=note.body, title=note.title, notify_type=_TYPES[note.severity]),
            self._timeout_s,
        )
        if not delivered:
            raise ConnectionError("no target accepted the notification")
