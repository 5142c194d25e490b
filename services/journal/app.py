"""journal as a service (port 8015): stores what the pipeline does in the journal database, notifies about
what a trader must know, routes Prometheus alerts (from Alertmanager) to the same notifications, and runs
retention. Two consumer groups on the journaled streams: "journal" (the database) and "notifier"."""

from __future__ import annotations

import time

from fastapi import FastAPI

from services.journal.notes import event_note, execution_note
from services.journal.notifier import Notifier, load_targets
from services.journal.routes import router
from services.journal.scheduler import Scheduler
from services.journal.settings import JournalSettings
from services.journal.store import JournalStore
from services.journal.streams import LagWatcher
from services.journal.writer import add_journal_consumers
from shared.bus import Delivery
from shared.contracts import AccountEvent, Execution
from shared.gateway import MarketDataGateway
from shared.journal.database import create_engine, database_url
from shared.keys import STREAM_EVENTS, STREAM_EXECUTIONS
from shared.runtime import Runtime

NOTIFIER_GROUP = "notifier"


def add_notifier_consumers(runtime: Runtime, notifier: Notifier) -> None:
    async def on_execution(execution: Execution, delivery: Delivery) -> None:
        if (note := execution_note(execution)) is not None:
            await notifier.send(note)

    async def on_event(event: AccountEvent, delivery: Delivery) -> None:
        if (note := event_note(event)) is not None:
            await notifier.send(note)

    runtime.consume(STREAM_EXECUTIONS, NOTIFIER_GROUP, Execution, on_execution)
    runtime.consume(STREAM_EVENTS, NOTIFIER_GROUP, AccountEvent, on_event)


def build_app(settings: JournalSettings, *, gateway: MarketDataGateway | None = None) -> FastAPI:
    runtime = Runtime.build(settings, gateway=gateway)
    engine = create_engine(database_url(settings), writer=True, pool_size=settings.journal_db_pool_size)
    store = JournalStore(engine, wait_s=settings.journal_db_wait_s, now=time.time)
    notifier = Notifier(
        runtime.redis,
        load_targets(settings.notification_urls()),
        dedup_window_s=settings.notify_dedup_window_s,
        cooldown_s=settings.notify_alert_cooldown_s,
        max_per_hour=settings.notify_max_per_hour,
        timeout_s=settings.notify_timeout_s,
    )
    lag = LagWatcher(runtime.redis)
    runtime.components.append(store)
    add_journal_consumers(runtime, store, max_deliveries=settings.journal_max_deliveries)
    add_notifier_consumers(runtime, notifier)
    runtime.components.extend([lag, Scheduler(settings, store=store, redis=runtime.redis, notifier=notifier)])
    return runtime.app([router], title="journal", provides=[store, notifier, lag])
