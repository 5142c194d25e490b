"""Predictive prefetch: warm the candles ia1 will read for what scout just published.

One arq job per symbol, deduplicated by job id (arq refuses a second job with the same id while the
first is queued, running, or its result kept), run by scout's arq worker in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from arq import Worker
from arq.connections import ArqRedis, create_pool
from prometheus_client import Counter

from shared import metrics
from shared.gateway import MarketDataGateway
from shared.jobs import arq_settings
from shared.settings import ServiceSettings

PREFETCHED = Counter(metrics.name("prefetch_jobs_total"), "Prefetch jobs by outcome", ["outcome"])
QUEUE = "tp:arq:prefetch"


async def prefetch_ohlcv(ctx: dict[str, Any], symbol: str, timeframes: list[str], candles: int) -> int:
    gateway: MarketDataGateway = ctx["gateway"]
    rows = await asyncio.gather(*(gateway.ohlcv(symbol, tf, candles) for tf in timeframes))
    PREFETCHED.labels("done").inc()
    return sum(len(r) for r in rows)


class Prefetcher:
    """Enqueues prefetch jobs and runs the arq worker that executes them (a service component)."""

    name = "prefetch-worker"

    def __init__(
        self,
        settings: ServiceSettings,
        gateway: MarketDataGateway,
        *,
        timeframes: tuple[str, ...],
        candles: int,
        period_s: float,
    ) -> None:
        self._settings = settings
        self._gateway = gateway
        self._timeframes = list(timeframes)
        self._candles = candles
        self._period_s = period_s
        self._pool: ArqRedis | None = None
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None

    async def warm(self, symbols: list[str]) -> int:
        if self._pool is None:
            return 0
        bucket = int(time.time() // self._period_s)
        queued = 0
        for symbol in symbols:
            job = await self._pool.enqueue_job(
                "prefetch_ohlcv",
                symbol,
                self._timeframes,
                self._candles,
                _job_id=f"prefetch:{symbol}:{bucket}",
                _queue_name=QUEUE,
            )
            PREFETCHED.labels("queued" if job else "deduplicated").inc()
            queued += job is not None
        return queued

    async def start(self) -> None:
        self._pool = await create_pool(arq_settings(self._settings))
        self._worker = Worker(
            functions=[prefetch_ohlcv],
            queue_name=QUEUE,
            redis_pool=self._pool,
            ctx={"gateway": self._gateway},
            handle_signals=False,
            max_jobs=4,
            job_timeout=60,
            keep_result=int(self._period_s),
            poll_delay=0.2,
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
        return None if self._task is not None and not self._task.done() else "prefetch worker not running"
