"""The journal's scheduled jobs, run by an arq worker inside the service: retention every hour (and once at
start), the daily summary once a day. arq's cron jobs are unique per run time, so replicas of the journal
run each of them once."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from arq import cron
from redis.asyncio import Redis

from services.journal.notifier import Notifier
from services.journal.retention import run_retention
from services.journal.settings import JournalSettings
from services.journal.store import JournalStore
from services.journal.summary import previous_day, summarise, summary_note
from shared.jobs import JobWorker

QUEUE = "tp:arq:journal"


async def retention(ctx: dict[str, Any]) -> dict[str, Any]:
    settings: JournalSettings = ctx["settings"]
    store: JournalStore = ctx["store"]
    if not store.migrated:
        return {"skipped": "the database is not migrated yet"}
    report = await run_retention(
        store.engine,
        ctx["redis"],
        analyses_days=settings.retention_analyses_days,
        streams_hours=settings.retention_streams_hours,
    )
    return dataclasses.asdict(report)


async def daily_summary(ctx: dict[str, Any]) -> str:
    day, start, end = previous_day(time.time())
    store: JournalStore = ctx["store"]
    summary = await summarise(store.engine, day, start, end)
    notifier: Notifier = ctx["notifier"]
    return await notifier.send(summary_note(summary))


class Scheduler(JobWorker):
    def __init__(self, settings: JournalSettings, *, store: JournalStore, redis: Redis, notifier: Notifier) -> None:
        jobs = [cron(retention, minute=settings.retention_minute, run_at_startup=True, timeout=3600)]
        if settings.notify_daily_summary_hour >= 0:
            jobs.append(cron(daily_summary, hour=settings.notify_daily_summary_hour, minute=5, timeout=300))
        super().__init__(
            settings,
            "journal-scheduler",
            queue=QUEUE,
            functions=[retention, daily_summary],
            cron_jobs=jobs,
            ctx={"settings": settings, "store": store, "redis": redis, "notifier": notifier},
            max_jobs=2,
            poll_delay=0.5,
        )
