"""The writer's side of the journal database: migrated at start, watched, and waited for when it is down.

``write`` runs one recorder function in one transaction. While the database is down (or not migrated yet),
a write waits up to ``wait_s`` for it to come back, then fails: the consumer leaves the entry pending and
retries it later, so an outage slows the journal down and loses nothing. The wait also keeps a consumer from
spinning through the whole stream with errors while the database restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared import metrics
from shared.errors import TradepipeError
from shared.journal.database import UNAVAILABLE_ERRORS, migrate
from shared.journal.partitions import ensure_partitions

log = logging.getLogger(__name__)

DATABASE_UP = Gauge(metrics.name("journal_database_up"), "1 while the journal's database answers, else 0")
HEALTH_INTERVAL_S = 1.0

T = TypeVar("T")
M = TypeVar("M")


class JournalUnavailable(TradepipeError):
    """The database did not take a write; the entry stays pending and is retried."""


class JournalStore:
    name = "journal-database"

    def __init__(self, engine: AsyncEngine, *, wait_s: float, now: Callable[[], float]) -> None:
        self.engine = engine
        self._wait_s = wait_s
        self._now = now
        self._up = asyncio.Event()
        self._check = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.migrated = False
        self.last_error: str | None = None
        DATABASE_UP.set(0)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @property
    def up(self) -> bool:
        return self._up.is_set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.engine.dispose()

    async def ready(self) -> str | None:
        # Readiness needs the schema once; a later outage shows in metrics and alerts, not here, so the
        # service keeps taking Alertmanager's webhooks (and notifying) while its database is down.
        if self._task is None or self._task.done():
            return "database watcher not running"
        return None if self.migrated else f"database not migrated yet ({self.last_error or 'starting'})"

    async def write(self, record: Callable[[AsyncConnection, M], Awaitable[T]], message: M) -> T:
        if not self._up.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), self._wait_s)
            if not self._up.is_set():
                raise JournalUnavailable(f"journal database unavailable ({self.last_error or 'not migrated yet'})")
        try:
            async with self.engine.begin() as connection:
                return await record(connection, message)
        except UNAVAILABLE_ERRORS as error:
            self._went_down(error)
            raise JournalUnavailable(f"journal write failed: {type(error).__name__}") from error

    async def maintain(self) -> list[str]:
        """Partitions ahead of time (PostgreSQL); run at start and by the retention job."""
        async with self.engine.begin() as connection:
            return await ensure_partitions(connection, self._now())

    def _went_down(self, error: BaseException) -> None:
        if self._up.is_set() or self.last_error is None:
            log.warning("journal database unavailable: %s", type(error).__name__)
        self.last_error = type(error).__name__
        self._up.clear()
        DATABASE_UP.set(0)
        self._check.set()

    async def _healthy(self) -> bool:
        try:
            if not self.migrated:
                await migrate(self.engine)
                created = await self.maintain()
                self.migrated = True
                log.info("journal database migrated", extra={"backend": self.backend, "partitions": len(created)})
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # whatever it is, the database is not usable: the watcher must go on
            self._went_down(error)
            return False
        if not self._up.is_set():
            log.info("journal database available", extra={"backend": self.backend})
        self.last_error = None
        self._up.set()
        DATABASE_UP.set(1)
        return True

    async def _watch(self) -> None:
        while True:
            self._check.clear()
            await self._healthy()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._check.wait(), HEALTH_INTERVAL_S)
