"""scout + ia1 + ia2 in one process, on one gateway: the scan cycle that B1 and B5 run.

The stages are the services' own classes (Scanner, Ia1Worker, Strategist) called in order, so a
cycle does the same reads and writes as the deployed services, without the stream hops between them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from bench.env import Env
from services.ia1.analyst import RuleAnalyst
from services.ia1.worker import Ia1Worker
from services.ia2.adaptive import AdaptiveConfidence
from services.ia2.risk import RiskConfig, RiskManager
from services.ia2.strategist import Strategist
from services.scout.scanner import Scanner
from services.scout.settings import ScoutSettings
from shared.bus import Publisher
from shared.contracts import Decision, Opportunity
from shared.gateway import MarketDataGateway
from shared.keys import STREAM_OPPORTUNITIES
from shared.messages import decode

PREFETCH_TIMEFRAMES = ("15m", "1h", "4h")


@dataclass
class CycleResult:
    scan_seconds: float
    cycle_seconds: float
    opportunities: int
    decisions: list[Decision] = field(default_factory=list)
    ia1_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class InProcessPipeline:
    def __init__(self, env: Env, mode: str, clock: Callable[[], float], **overrides: Any) -> None:
        settings = env.settings(gateway_mode=mode, **overrides)
        self.optimized = mode == "optimized"
        self.gateway: MarketDataGateway = env.gateway(settings, mode=mode, clock=clock)
        self.redis: Redis = self.gateway.limiter.redis
        publisher = Publisher(self.redis, maxlen=100_000)
        scout_settings = ScoutSettings(
            **{**settings.model_dump(), "scout_republish_after_s": 0, "scout_prefetch": False}
        )
        self.scanner = Scanner(scout_settings, self.redis, self.gateway, publisher)
        self.ia1 = Ia1Worker(self.gateway, self.gateway.cache, publisher, RuleAnalyst(), candles=200)
        adaptive = AdaptiveConfidence(self.redis, base=0.55)
        self.strategist = Strategist(
            self.redis, RiskManager(RiskConfig()), adaptive, self._closes, start_balance=10_000
        )

    async def _closes(self, symbol: str) -> list[float]:
        return [row[4] for row in await self.gateway.ohlcv(symbol, "1h", 101)]

    async def cycle(self) -> CycleResult:
        """One scan, then every published opportunity through ia1 and ia2; failures are counted, not raised."""
        started = time.perf_counter()
        try:
            report = await self.scanner.scan()
        except Exception as error:  # a caller-visible failure: what B5 counts
            return CycleResult(time.perf_counter() - started, time.perf_counter() - started, 0, errors=[repr(error)])
        result = CycleResult(time.perf_counter() - started, 0.0, 0)
        opportunities = await self._published(report["scan_id"])
        result.opportunities = len(opportunities)
        if self.optimized:  # predictive prefetch, here in process (scout runs it as arq jobs)
            await asyncio.gather(
                *(self.gateway.ohlcv(o.symbol, tf, 200) for o in opportunities for tf in PREFETCH_TIMEFRAMES),
                return_exceptions=True,
            )
        for opportunity in opportunities:
            try:
                t = time.perf_counter()
                analysis = await self.ia1.analyse(opportunity)
                result.ia1_seconds.append(time.perf_counter() - t)
                result.decisions.append(await self.strategist.decide(analysis))
            except Exception as error:
                result.errors.append(repr(error))
        result.cycle_seconds = time.perf_counter() - started
        return result

    async def _published(self, scan_id: str) -> list[Opportunity]:
        entries = await self.redis.xrevrange(STREAM_OPPORTUNITIES, count=500)
        found = [decode(fields, Opportunity) for _, fields in entries]
        return [o for o in reversed(found) if o.scan_id == scan_id]

    async def close(self) -> None:
        await self.gateway.close()
        await self.gateway.cache.stop()
        await self.redis.aclose()
