"""The journal service's settings: retention, the writer's patience with its database, notifications."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings

_URL_SEPARATORS = re.compile(r"[\s,]+")


class JournalSettings(ServiceSettings):
    service_name: str = "journal"
    port: int = Field(8015, ge=1, le=65535)

    # An entry the database could not take stays pending and is retried; only after this many deliveries is
    # it dead-lettered, so even a long database outage loses nothing (at the default 30 s reclaim: ~8 hours).
    journal_max_deliveries: int = Field(1_000, ge=5, le=1_000_000)
    journal_db_wait_s: float = Field(5.0, gt=0, le=300)  # a write waits this long for a database that is down
    journal_db_pool_size: int = Field(5, ge=1, le=100)  # PostgreSQL connections (SQLite's writer uses one)

    # Retention (hourly arq job): analyses and rejected decisions older than this are counted per day, then
    # removed; orders, trades, equity and events are kept. Stream entries the journal (and the notifier) have
    # handled are trimmed once older than retention_streams_hours; entries not yet stored never are.
    retention_analyses_days: float = Field(30.0, gt=0, le=3_650)
    retention_streams_hours: float = Field(24.0, gt=0, le=24 * 365)
    retention_minute: int = Field(7, ge=0, le=59)  # minute of every hour the job runs (and once at start)

    # Notifications through apprise: URLs separated by commas or spaces, e.g.
    # "tgram://bot-token/chat-id, ntfy://ntfy.sh/my-topic, json://host:port/path". They hold tokens: secret.
    notify_urls: SecretStr | None = None
    notify_dedup_window_s: int = Field(2 * 86_400, ge=60, le=30 * 86_400)
    notify_alert_cooldown_s: int = Field(900, ge=0, le=86_400)  # one notification per alert (and state) per period
    notify_max_per_hour: int = Field(30, ge=1, le=10_000)  # critical ones (halt, kill switch, liquidation) always pass
    notify_timeout_s: float = Field(15.0, gt=0, le=120)
    notify_daily_summary_hour: int = Field(0, ge=-1, le=23)  # UTC hour of the daily summary; -1: none

    def notification_urls(self) -> list[str]:
        raw = self.notify_urls.get_secret_value() if self.notify_urls else ""
        return [url for url in _URL_SEPARATORS.split(raw) if url]

    def secret_values(self) -> list[str]:
        # Each URL on its own too: a log line may show one of them, not the whole list.
        return [*super().secret_values(), *self.notification_urls()]
