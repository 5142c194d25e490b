"""The journal's scheduled jobs, run by an arq worker inside the service: retention every hour (and once at
start), the daily summary once a day. arq's cron jobs are unique per run time, so replicas of the journal
run each of them once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import Any

from arq import Worker, cron
from arq.connections import ArqRedis, create_pool
from redis.asyncio import Redis

from services.journal.notifier import Notifier
from services.journal.retention import run_retention
from services.journal.settings import JournalSettings
from services.journal.store import JournalStore
from services.journal.summary import previous_day, summarise, summary_note
from shared.jobs import arq_settings

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


class Scheduler:
    name = "journal-scheduler"

    def __init__(self, settings: JournalSettings, *, store: JournalStore, redis: Redis, notifier: Notifier) -> None:
        self._settings = settings
        self._ctx: dict[str, Any] = {"settings": settings, "store": store, "redis": redis, "notifier": notifier}
        self._pool: ArqRedis | None = None
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None

    def _cron_jobs(self) -> list[Any]:
        jobs = [cron(retention, minute=self._settings.retention_minute, run_at_startup=True, timeout=3600)]
        if self._settings.notify_daily_summary_hour >= 0:
            jobs.append(cron(daily_summary, hour=self._settings.notify_daily_summary_hour, minute=5, timeout=300))
        return jobs

    async def start(self) -> None:
        self._pool = await create_pool(arq_settings(self._settings))
        self._worker = Worker(
            functions=[retention, daily_summary],
            cron_jobs=self._cron_jobs(),
            queue_name=QUEUE,
            redis_pool=self._pool,
            ctx=self._ctx,
            handle_signals=False,
            max_jobs=2,
            poll_delay=0.5,
            log_results=False,
        )
        self._task = asyncio.create_task(self._worker.async_run(), name=self.name)

    async def stop(self) -> None:
        if self._worker is not None:
            await self._worker.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._pool is not None:
            await self._pool.aclose()

    async def ready(self) -> str | None:
        return None if self._task is not None and not self._task.done() else "scheduler not running"
