"""Predictive prefetch: warm the candles ia1 will read for what scout just published.

One arq job per symbol, deduplicated by job id (arq refuses a second job with the same id while the
first is queued, running, or its result kept), run by scout's arq worker in the background.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import Counter

from shared import metrics
from shared.gateway import MarketDataGateway
from shared.jobs import JobWorker
from shared.settings import ServiceSettings

PREFETCHED = Counter(metrics.name("prefetch_jobs_total"), "Prefetch jobs by outcome", ["outcome"])
QUEUE = "tp:arq:prefetch"


async def prefetch_ohlcv(ctx: dict[str, Any], symbol: str, timeframes: list[str], candles: int) -> int:
    gateway: MarketDataGateway = ctx["gateway"]
    rows = await asyncio.gather(*(gateway.ohlcv(symbol, tf, candles) for tf in timeframes))
    PREFETCHED.labels("done").inc()
    return sum(len(r) for r in rows)


class Prefetcher(JobWorker):
    """Enqueues prefetch jobs and runs the arq worker that executes them (a service component)."""

    def __init__(
        self,
        settings: ServiceSettings,
        gateway: MarketDataGateway,
        *,
        timeframes: tuple[str, ...],
        candles: int,
        period_s: float,
    ) -> None:
        super().__init__(
            settings,
            "prefetch-worker",
            queue=QUEUE,
            functions=[prefetch_ohlcv],
            ctx={"gateway": gateway},
            max_jobs=4,
            job_timeout=60,
            keep_result=int(period_s),
            poll_delay=0.2,
        )
        self._timeframes = list(timeframes)
        self._candles = candles
        self._period_s = period_s

    async def warm(self, symbols: list[str]) -> int:
        if self.pool is None:
            return 0
        bucket = int(time.time() // self._period_s)
        queued = 0
        for symbol in symbols:
            job = await self.pool.enqueue_job(
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
