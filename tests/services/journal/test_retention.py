"""Retention on SQLite and PostgreSQL: old analyses and rejections are counted per day, then removed; what
a trader needs later (orders, trades, opening decisions, equity, events) stays; a second run changes
nothing; the arq worker runs the job."""

from __future__ import annotations

import time

import pytest
from arq.connections import create_pool
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.journal.notifier import Notifier, load_targets
from services.journal.retention import DAY_S, run_retention
from services.journal.scheduler import QUEUE, Scheduler
from services.journal.settings import JournalSettings
from services.journal.store import JournalStore
from shared.jobs import arq_settings
from shared.journal import recorder
from shared.journal.models import AnalysisRow, DailyRollupRow, DecisionRow, EquityPointRow, OrderRow, TradeRow
from tests.helpers.journal import analysis, decision, equity, fill

NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z
OLD = NOW - 40 * DAY_S


async def rows(engine: AsyncEngine, table: type) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def seed(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for i in range(6):  # three old analyses on each of two days, and two recent ones
            at = OLD + (i % 2) * DAY_S + i
            await recorder.record_analysis(connection, analysis(at, created_at=at, confidence=0.5 + i / 100))
        for i in range(2):
            await recorder.record_analysis(connection, analysis(NOW - 60 + i, created_at=NOW - 60 + i))
        for i in range(3):
            rejected = decision("reject", created_at=OLD + i, message_id=f"r{i}", signal_kind="trend_long")
            await recorder.record_decision(connection, rejected)
        await recorder.record_decision(connection, decision("open", created_at=OLD, message_id="opened"))
        await recorder.record_execution(connection, fill("opened", created_at=OLD))
        await recorder.record_event(connection, equity(10_000, OLD))


async def test_old_analyses_and_rejections_are_counted_then_removed(journal: AsyncEngine, redis: Redis) -> None:
    await seed(journal)
    report = await run_retention(journal, redis, analyses_days=30, streams_hours=24, now=NOW)
    assert report.removed == {"analyses": 6, "decisions": 3}
    assert (await rows(journal, AnalysisRow), await rows(journal, DecisionRow)) == (2, 1)  # recent ones, the opener
    assert (await rows(journal, OrderRow), await rows(journal, TradeRow), await rows(journal, EquityPointRow)) == (
        1,
        1,
        1,
    )
    async with journal.connect() as connection:
        counts = (
            await connection.execute(select(DailyRollupRow).order_by(DailyRollupRow.day, DailyRollupRow.kind))
        ).all()
    assert [(r.day, r.kind, r.label, r._mapping["count"]) for r in counts] == [
        ("2025-05-06", "analysis", "long", 3),
        ("2025-05-06", "rejection", "trend_long", 3),
        ("2025-05-07", "analysis", "long", 3),
    ]
    assert counts[0].confidence_sum == pytest.approx(0.5 + 0.52 + 0.54)

    again = await run_retention(journal, redis, analyses_days=30, streams_hours=24, now=NOW)
    assert again.removed == {"analyses": 0, "decisions": 0}
    async with journal.connect() as connection:
        assert await connection.scalar(select(func.sum(DailyRollupRow.count))) == 9


async def test_the_arq_worker_runs_retention(journal: AsyncEngine, redis: Redis, redis_url: str) -> None:
    await seed(journal)
    settings = JournalSettings(redis_url=redis_url, retention_analyses_days=1)
    store = JournalStore(journal, wait_s=1, now=time.time)
    store.migrated = True
    scheduler = Scheduler(
        settings,
        store=store,
        redis=redis,
        notifier=Notifier(redis, load_targets([]), dedup_window_s=60, cooldown_s=60, max_per_hour=1, timeout_s=1),
    )
    await scheduler.start()
    pool = await create_pool(arq_settings(settings))
    try:
        job = await pool.enqueue_job("retention", _queue_name=QUEUE)
        assert job is not None
        result = await job.result(timeout=60)
    finally:
        await pool.aclose()
        await scheduler.stop()
    # The job ran (the cron job's run at start may have done part of the work before it).
    assert set(result["removed"]) == {"analyses", "decisions"}
    assert (await rows(journal, AnalysisRow), await rows(journal, DecisionRow)) == (0, 1)
