"""arq (scheduled and background jobs in Redis): the connection settings, and the one worker component.

A :class:`JobWorker` runs an arq worker inside a service, as a component of its app: started with it,
stopped with it, its pool at hand for enqueuing. Scout's predictive prefetch and the journal's scheduled
jobs (retention, daily summary) are both this.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from arq import Worker
from arq.connections import ArqRedis, RedisSettings, create_pool

from shared.settings import ServiceSettings


def arq_settings(settings: ServiceSettings) -> RedisSettings:
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    if settings.redis_password is not None:
        redis_settings.password = settings.redis_password.get_secret_value()
    return redis_settings


class JobWorker:
    def __init__(
        self,
        settings: ServiceSettings,
        name: str,
        *,
        queue: str,
        functions: Sequence[Any],
        ctx: dict[str, Any],
        cron_jobs: Sequence[Any] = (),
        **options: Any,
    ) -> None:
        self.name = name
        self.queue = queue
        self._settings = settings
        self._functions = list(functions)
        self._cron_jobs = list(cron_jobs)
        self._ctx = ctx
        self._options = options
        self.pool: ArqRedis | None = None
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.pool = await create_pool(arq_settings(self._settings))
        self._worker = Worker(
            functions=self._functions,
            cron_jobs=self._cron_jobs or None,
            queue_name=self.queue,
            redis_pool=self.pool,
            ctx=self._ctx,
            handle_signals=False,  # the service's own lifecycle stops it
            log_results=False,
            **self._options,
        )
        self._task = asyncio.create_task(self._worker.async_run(), name=self.name)

    async def stop(self) -> None:
        if self._worker is not None:
            await self._worker.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.pool is not None:
            await self.pool.aclose()

    async def ready(self) -> str | None:
        return None if self._task is not None and not self._task.done() else f"{self.name} not running"

    def alive(self) -> str | None:
        task = self._task
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            return f"{self.name} died: {type(task.exception()).__name__}"
        return None
