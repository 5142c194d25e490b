"""The journal service's HTTP API: its status, Alertmanager's webhook, and a test notification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.journal.alerts import WebhookPayload, alert_event
from services.journal.notifier import Note, Notifier
from services.journal.store import JournalStore
from services.journal.streams import LagWatcher
from shared.auth import admin_guard
from shared.keys import STREAM_EVENTS
from shared.messages import new_message_id
from shared.runtime import Runtime

router = APIRouter(tags=["journal"])


class TestNotification(BaseModel):
    title: str = Field("tradepipe test notification", min_length=1, max_length=200)
    body: str = Field("If you read this, notifications reach you.", min_length=1, max_length=2_000)


@router.get("/journal/status")
async def status(request: Request) -> dict[str, Any]:
    store: JournalStore = request.app.state.store
    lag: LagWatcher = request.app.state.lag
    notifier: Notifier = request.app.state.notifier
    return {
        "database": {"backend": store.backend, "up": store.up, "migrated": store.migrated, "error": store.last_error},
        "streams": await lag.lag(),
        "notifications": {"targets": notifier.targets},
    }


@router.post("/alerts", dependencies=[Depends(admin_guard())])
async def alertmanager_webhook(request: Request, payload: WebhookPayload) -> dict[str, int]:
    """Alertmanager's webhook receiver: each alert becomes an event on stream:events (stored, then notified)."""
    runtime: Runtime = request.app.state.runtime
    for alert in payload.alerts:
        await runtime.publisher.publish(STREAM_EVENTS, alert_event(alert))
    return {"events": len(payload.alerts)}


@router.post("/notify/test", dependencies=[Depends(admin_guard())])
async def notify_test(request: Request, body: TestNotification | None = None) -> dict[str, str]:
    """Send one notification to every NOTIFY_URLS target now (not deduplicated, counted in the budget)."""
    body = body or TestNotification()
    notifier: Notifier = request.app.state.notifier
    outcome = await notifier.send(Note(kind="test", key=f"test:{new_message_id()}", title=body.title, body=body.body))
    return {"outcome": outcome}
