"""The journal service's HTTP API: its status, Alertmanager's webhook, and a test notification."""

from __future__ import annotations

from fastapi import APIRouter

from services.journal.alerts import WebhookPayload, alert_event
from services.journal.deps import LagDep, NotifierDep, StoreDep
from services.journal.notifier import Note
from services.journal.schemas import (
    AlertsAccepted,
    DatabaseState,
    JournalStatus,
    NotificationSent,
    NotificationState,
    StreamLag,
    TestNotification,
)
from shared.auth import ADMIN
from shared.keys import STREAM_EVENTS
from shared.messages import new_message_id
from shared.problems import problems
from shared.runtime import RuntimeDep

router = APIRouter(tags=["journal"])


@router.get("/journal/status", responses=problems(503))
async def status(store: StoreDep, lag: LagDep, notifier: NotifierDep) -> JournalStatus:
    streams = await lag.lag()
    return JournalStatus(
        database=DatabaseState(backend=store.backend, up=store.up, migrated=store.migrated, error=store.last_error),
        streams={name: StreamLag.model_validate(figures) for name, figures in streams.items()},
        notifications=NotificationState(targets=notifier.targets),
    )


@router.post("/alerts", dependencies=ADMIN, responses=problems(400, 401, 403, 422, 503))
async def alertmanager_webhook(runtime: RuntimeDep, payload: WebhookPayload) -> AlertsAccepted:
    """Alertmanager's webhook receiver: each alert becomes an event on stream:events (stored, then notified)."""
    for alert in payload.alerts:
        await runtime.publisher.publish(STREAM_EVENTS, alert_event(alert))
    return AlertsAccepted(events=len(payload.alerts))


@router.post("/notify/test", dependencies=ADMIN, responses=problems(400, 401, 403, 422, 503))
async def notify_test(notifier: NotifierDep, body: TestNotification | None = None) -> NotificationSent:
    """Send one notification to every NOTIFY_URLS target now (not deduplicated, counted in the budget)."""
    body = body or TestNotification()
    outcome = await notifier.send(Note(kind="test", key=f"test:{new_message_id()}", title=body.title, body=body.body))
    return NotificationSent(outcome=outcome)
