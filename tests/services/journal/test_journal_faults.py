"""Faults under load: the journal writer SIGKILLed again and again, and PostgreSQL SIGKILLed and restarted,
while the pipeline keeps publishing. Afterwards every message is in the journal exactly once, nothing was
dead-lettered, and each trade has both legs and both fees."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from devkit.postgres_server import PostgresServer
from devkit.waits import caught_up, eventually
from shared.bus import Publisher
from shared.journal.database import create_engine
from shared.journal.models import AnalysisRow, DecisionRow, EquityPointRow, OrderRow, TradeRow
from shared.keys import (
    JOURNALED_STREAMS,
    STREAM_ANALYSES,
    STREAM_DEADLETTER,
    STREAM_DECISIONS,
    STREAM_EVENTS,
    STREAM_EXECUTIONS,
)
from tests.conftest import JournalFactory
from tests.helpers.journal import analysis, decision, equity, fill

JOURNALED = sorted(JOURNALED_STREAMS)
pytestmark = pytest.mark.slow
ROUNDS = 120  # each: an analysis, a decision, an open and a close fill, an equity point


@dataclass
class Load:
    """Publishes the pipeline's messages at a steady pace until told to stop or done."""

    redis: Redis
    published: dict[str, set[str]] = field(
        default_factory=lambda: {"analyses": set(), "decisions": set(), "orders": set(), "equity": set()}
    )
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        publisher = Publisher(self.redis, maxlen=100)
        for i in range(ROUNDS):
            made = decision(message_id=f"dec{i}", opportunity_created_at=1_700_000_000.0 + i)
            opened, closed = fill(made.message_id), fill(made.message_id, "close")
            point = equity(10_000 + i, 1_700_000_000.0 + i)
            await publisher.publish(STREAM_ANALYSES, analysis(1_700_000_000.0 + i, opportunity_id=f"opp{i}"))
            await publisher.publish(STREAM_DECISIONS, made)
            await publisher.publish(STREAM_EXECUTIONS, opened)
            await publisher.publish(STREAM_EXECUTIONS, closed)
            await publisher.publish(STREAM_EVENTS, point)
            self.published["decisions"].add(made.message_id)
            self.published["orders"] |= {opened.client_order_id, closed.client_order_id}
            self.published["equity"].add(point.message_id)
            await asyncio.sleep(0.02)  # pacing, so the faults land while the load runs
        self.done.set()


@contextlib.asynccontextmanager
async def running(load: Load) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(load.run())
    try:
        yield task
    finally:
        await task


async def rows(engine: AsyncEngine, table: type) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def written(engine: AsyncEngine) -> int:
    try:
        return await rows(engine, OrderRow)
    except Exception:  # not migrated yet, or the database is down
        return 0


async def check_everything_once(engine: AsyncEngine, redis: Redis, load: Load) -> None:
    await eventually(lambda: caught_up(redis, "journal", JOURNALED), timeout_s=120, what="the journal caught up")
    assert await redis.xlen(STREAM_DEADLETTER) == 0
    assert await rows(engine, AnalysisRow) == ROUNDS
    assert await rows(engine, DecisionRow) == len(load.published["decisions"]) == ROUNDS
    assert await rows(engine, OrderRow) == len(load.published["orders"]) == 2 * ROUNDS
    assert await rows(engine, EquityPointRow) == ROUNDS
    async with engine.connect() as connection:
        ids = set((await connection.scalars(select(OrderRow.client_order_id))).all())
        complete = await connection.scalar(
            select(func.count())
            .where(TradeRow.closed_at.is_not(None), TradeRow.opened_at.is_not(None))
            .where(TradeRow.entry_fee > 0, TradeRow.exit_fee > 0)
        )
    assert ids == load.published["orders"]
    assert complete == await rows(engine, TradeRow) == ROUNDS


async def test_writer_killed_under_load_loses_and_duplicates_nothing(
    redis: Redis, database_url: str, journal_service: JournalFactory
) -> None:
    env = {"DATABASE_URL": database_url, "STREAM_CLAIM_IDLE_MS": "1000"}
    service = journal_service(**env)
    engine = create_engine(database_url)
    load = Load(redis)
    try:
        async with running(load):
            for kill in range(3):
                # Wait until it is writing, then SIGKILL it mid-stream, and start a new one.
                already = await written(engine)
                await eventually(lambda: written(engine), timeout_s=60, what="the journal writes")
                await eventually(lambda a=already: _more(engine, a), timeout_s=60, what=f"writes before kill {kill}")
                service.stop("journal", kill=True)
                service.start("journal")
        await check_everything_once(engine, redis, load)
    finally:
        await engine.dispose()


async def _more(engine: AsyncEngine, than: int) -> bool:
    return await written(engine) > than


async def test_postgres_killed_under_load_loses_and_duplicates_nothing(
    redis: Redis, private_postgres: PostgresServer, journal_service: JournalFactory
) -> None:
    url = private_postgres.create_database("journal")
    service = journal_service(DATABASE_URL=url, STREAM_CLAIM_IDLE_MS="1000", JOURNAL_DB_WAIT_S="1")
    pid = service.processes["journal"].pid
    engine = create_engine(url)
    load = Load(redis)
    try:
        async with running(load):
            await eventually(lambda: _more(engine, 20), timeout_s=60, what="the journal writes")
            await engine.dispose()
            private_postgres.kill()  # SIGKILL: a crash, with the journal mid-transaction
            async with httpx.AsyncClient(base_url=service.url("journal"), timeout=5) as client:
                await eventually(lambda: _database_down(client), timeout_s=30, what="the journal sees it down")
            private_postgres.start()  # recovers from its WAL
        await check_everything_once(engine, redis, load)
        assert service.processes["journal"].pid == pid  # the same process rode it out
    finally:
        await engine.dispose()


async def _database_down(client: httpx.AsyncClient) -> bool:
    status = (await client.get("/journal/status")).json()
    return not status["database"]["up"]
