"""The scan cycle: rank the whole market from one batched ticker read, look at candles only for the
top candidates, publish the best as opportunities with their reasons, and warm ia1's caches.

Only one replica scans per period (a Redis lock as long as the period), so scaling scout adds
availability, not duplicate opportunities.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis

from services.scout.filters import MarketFilter, default_filters
from services.scout.prefetch import Prefetcher
from services.scout.scoring import Scored, refine_with_candles, score_tickers
from services.scout.settings import ScoutSettings
from shared import metrics
from shared.bus import Publisher
from shared.contracts import Opportunity
from shared.gateway import MarketDataGateway
from shared.keys import STREAM_OPPORTUNITIES
from shared.periodic import Periodic

log = logging.getLogger(__name__)

SCAN_SECONDS = Histogram(
    metrics.name("scan_duration_seconds"), "Scan cycle wall time", ["phase"], buckets=metrics.LATENCY_BUCKETS
)
OPPORTUNITIES = Counter(metrics.name("opportunities_total"), "Opportunities published")
LATEST_SCAN = "tp:scout:latest"
SCAN_LOCK = "tp:scout:scan-lock"


def published_key(symbol: str) -> str:
    return f"tp:scout:published:{symbol}"


class Scanner:
    def __init__(
        self,
        settings: ScoutSettings,
        redis: Redis,
        gateway: MarketDataGateway,
        publisher: Publisher,
        prefetcher: Prefetcher | None = None,
        filters: list[MarketFilter] | None = None,
    ) -> None:
        self.settings = settings
        self._redis = redis
        self._gateway = gateway
        self._publisher = publisher
        self._prefetcher = prefetcher
        self.filters = filters or default_filters(
            quote=settings.scout_quote,
            min_quote_volume=settings.scout_min_quote_volume,
            max_spread_bps=settings.scout_max_spread_bps,
        )

    async def scan(self) -> dict[str, Any]:
        s = self.settings
        scan_id = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        tickers = await self._gateway.tickers()
        t_tickers = time.perf_counter()
        dropped: dict[str, int] = {}
        kept = []
        for ticker in tickers.values():
            reason = next((f.name for f in self.filters if f.reject(ticker)), None)
            if reason:
                dropped[reason] = dropped.get(reason, 0) + 1
            else:
                kept.append(ticker)
        candidates = score_tickers(kept)[: s.scout_candidates]
        candles = await self._gateway.ohlcv_many(
            [c.ticker.symbol for c in candidates], s.scout_timeframe, s.scout_candles
        )
        t_candles = time.perf_counter()
        refined = sorted(
            (
                refine_with_candles(c, [row[4] for row in candles[c.ticker.symbol]])
                for c in candidates
                if c.ticker.symbol in candles
            ),
            key=lambda c: (-c.score, c.ticker.symbol),
        )
        published = await self._publish(scan_id, refined)
        if self._prefetcher is not None and published:
            await self._prefetcher.warm([o.symbol for o in published])
        finished = time.perf_counter()
        SCAN_SECONDS.labels("tickers").observe(t_tickers - started)
        SCAN_SECONDS.labels("candles").observe(t_candles - t_tickers)
        SCAN_SECONDS.labels("total").observe(finished - started)
        report = {
            "scan_id": scan_id,
            "at": time.time(),
            "markets": len(tickers),
            "passed_filters": len(kept),
            "dropped_by": dropped,
            "candidates": len(candidates),
            "published": [{"symbol": o.symbol, "rank": o.rank, "score": o.score} for o in published],
            "timings_s": {
                "tickers": round(t_tickers - started, 6),
                "candles": round(t_candles - t_tickers, 6),
                "total": round(finished - started, 6),
            },
        }
        await self._redis.set(LATEST_SCAN, orjson.dumps(report))
        return report

    async def _publish(self, scan_id: str, ranked: list[Scored]) -> list[Opportunity]:
        published: list[Opportunity] = []
        for scored in ranked:
            if len(published) >= self.settings.scout_top_n:
                break
            symbol = scored.ticker.symbol
            cooldown_ms = int(self.settings.scout_republish_after_s * 1000)
            if cooldown_ms and not await self._redis.set(published_key(symbol), scan_id, px=cooldown_ms, nx=True):
                continue  # published recently: ia1 is already on it
            opportunity = Opportunity(
                scan_id=scan_id,
                symbol=symbol,
                rank=len(published) + 1,
                score=scored.score,
                price=scored.ticker.last or 0.0,
                change_pct_24h=scored.ticker.change_pct or 0.0,
                quote_volume_24h=scored.ticker.quote_volume or 0.0,
                volatility_pct=scored.volatility_pct,
                spread_bps=scored.spread_bps,
                reasons=scored.reasons,
            )
            await self._publisher.publish(STREAM_OPPORTUNITIES, opportunity)
            OPPORTUNITIES.inc()
            published.append(opportunity)
        return published


class ScanLoop(Periodic):
    """Scans every ``scan_interval_s``, sleeping between cycles; one replica per period."""

    name = "scan-loop"

    def __init__(self, scanner: Scanner, redis: Redis, interval_s: float) -> None:
        super().__init__(interval_s)
        self._scanner = scanner
        self._redis = redis
        self.cycles = 0

    async def step(self) -> None:
        # One replica per period: the lock lives a little less than the period.
        lock_ms = max(1, int(self._interval_s * 1000) - 100)
        if await self._redis.set(SCAN_LOCK, b"1", px=lock_ms, nx=True):
            await self._scanner.scan()
            self.cycles += 1
