"""scout + ia1 + ia2 in one process: the scan cycle that B1 and B5 run.

The stages are the services' own classes (Scanner, Ia1Worker, Strategist) called in order, so a
cycle does the same reads and writes as the deployed services, without the stream hops between them.

Modes: ``optimized`` (one gateway and one shared cache for every stage, prefetch), ``baseline`` (the
gateway with its optimisations off) and ``peer_polling``: the data access of the most used open-source
bot, built from the same code. Each stage has a cache of its own, as each of that bot's processes keeps
its candles in its own memory (nothing shared between stages), with its lifetimes: one all-tickers call
per cycle (the price tier's 30 s), candles fetched again only when a new candle has closed; no prefetch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from bench.env import Env
from services.ia1.app import build_worker
from services.ia1.settings import Ia1Settings
from services.ia2.app import build_strategist
from services.ia2.settings import Ia2Settings
from services.scout.app import build_scanner
from services.scout.settings import ScoutSettings
from shared.bus import Publisher
from shared.contracts import Decision, Opportunity
from shared.gateway import MarketDataGateway
from shared.keys import STREAM_OPPORTUNITIES
from shared.messages import decode
from shared.runtime import Runtime


@dataclass
class CycleResult:
    scan_seconds: float
    cycle_seconds: float
    opportunities: int
    decisions: list[Decision] = field(default_factory=list)
    ia1_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


MODES = ("baseline", "optimized", "peer_polling")


class InProcessPipeline:
    def __init__(self, env: Env, mode: str, clock: Callable[[], float], **overrides: Any) -> None:
        gateway_mode = "baseline" if mode == "baseline" else "optimized"
        settings = env.settings(gateway_mode=gateway_mode, **overrides)
        self.mode = mode
        self.optimized = mode == "optimized"
        self.gateway: MarketDataGateway = env.gateway(settings, mode=gateway_mode, clock=clock)
        self.redis: Redis = self.gateway.limiter.redis
        ia1_gateway = ia2_gateway = self.gateway
        if mode == "peer_polling":  # every stage its own cache: nothing shared between them
            ia1_gateway = env.gateway(settings, clock=clock, cache_prefix="peer-ia1")
            ia2_gateway = env.gateway(settings, clock=clock, cache_prefix="peer-ia2")
        self.gateways = list({id(g): g for g in (self.gateway, ia1_gateway, ia2_gateway)}.values())
        publisher = Publisher(self.redis, maxlen=100_000)

        def runtime(gateway: MarketDataGateway) -> Runtime:
            return Runtime(settings, self.redis, gateway.cache, gateway, publisher)

        values = settings.model_dump()
        # The services' own builders and settings defaults; only what in-process runs differ in is set here:
        # every scan publishes (no republish cooldown) and prefetch is done below, in process.
        scout = ScoutSettings(**{**values, "scout_republish_after_s": 0, "scout_prefetch": False})
        self.scanner = build_scanner(scout, runtime(self.gateway))
        self.prefetch = (scout.scout_prefetch_timeframes, scout.scout_prefetch_candles)
        self.ia1, _ = build_worker(Ia1Settings(**values), runtime(ia1_gateway))
        self.strategist = build_strategist(Ia2Settings(**values), runtime(ia2_gateway))

    def cache_stats(self) -> dict[str, dict[str, dict[str, int]]]:
        """Every stage's cache counters, summed."""
        total: dict[str, dict[str, dict[str, int]]] = {}
        for gateway in self.gateways:
            for tier, levels in gateway.cache.local_stats().items():
                for level, outcomes in levels.items():
                    into = total.setdefault(tier, {}).setdefault(level, {})
                    for outcome, n in outcomes.items():
                        into[outcome] = into.get(outcome, 0) + n
        return total

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
                *(self.gateway.ohlcv(o.symbol, tf, self.prefetch[1]) for o in opportunities for tf in self.prefetch[0]),
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
        for gateway in self.gateways:
            await gateway.close()
            await gateway.cache.stop()
            await gateway.limiter.redis.aclose()
