"""The bodies of the journal service's HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.journal.notifier import Outcome


class DatabaseState(BaseModel):
    backend: str = Field(description="sqlite or postgresql")
    up: bool = Field(description="the database answers")
    migrated: bool = Field(description="its tables are at the current version")
    error: str | None = Field(description="the type of the last error reaching it, or null")


class StreamLag(BaseModel):
    lag_seconds: float = Field(description="age of the oldest entry not stored yet (0 when caught up)")
    unstored: int = Field(description="entries not stored yet")


class NotificationState(BaseModel):
    targets: int = Field(description="notification targets configured (NOTIFY_URLS)")


class JournalStatus(BaseModel):
    database: DatabaseState = Field(description="the journal's database")
    streams: dict[str, StreamLag] = Field(description="how far behind the journal is, by journaled stream")
    notifications: NotificationState = Field(description="where notifications go")


class TestNotification(BaseModel):
    title: str = Field("tradepipe test notification", min_length=1, max_length=200, description="the title")
    body: str = Field(
        "If you read this, notifications reach you.", min_length=1, max_length=2_000, description="the text"
    )


class AlertsAccepted(BaseModel):
    events: int = Field(description="alerts turned into events on stream:events")


class NotificationSent(BaseModel):
    outcome: Outcome = Field(description="sent, or why not: duplicate, cooldown, rate_limited, disabled (no target)")
