"""ia1's handler: candles for each timeframe from the gateway, an analysis cached by those candles.

The analysis of a given set of candles is computed once and kept in the technical tier (the
"pattern-recognition cache"): replays, retries and replicas reuse it. The published analysis id is
derived from the opportunity id, so a redelivered opportunity yields the same analysis.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import Counter

from services.ia1.analyst import RuleAnalyst, candles_fingerprint
from services.ia1.indicators import Rows
from services.ia1.llm_analyst import LlmAnalyst
from shared import metrics
from shared.bus import Delivery, Publisher
from shared.cache import Tier, TieredCache
from shared.contracts import Analysis, Opportunity
from shared.gateway import MarketDataGateway
from shared.keys import STREAM_ANALYSES
from shared.messages import derived_message_id

ANALYSES = Counter(metrics.name("analyses_total"), "Analyses published, by signal and analyst", ["signal", "analyst"])
PER_MESSAGE = ("message_id", "created_at", "opportunity_id", "opportunity_created_at")
_analyses: dict[tuple[str, str], Counter] = {}  # labelled children, looked up once


class Ia1Worker:
    def __init__(
        self,
        gateway: MarketDataGateway,
        cache: TieredCache,
        publisher: Publisher,
        analyst: RuleAnalyst,
        *,
        candles: int,
        llm: LlmAnalyst | None = None,
    ) -> None:
        self._gateway = gateway
        self._cache = cache
        self._publisher = publisher
        self.analyst = analyst
        self._candles = candles
        self._llm = llm

    async def fetch_candles(self, symbol: str) -> dict[str, Rows]:
        # What this process's L1 holds is read at once; only the rest is fetched, concurrently (a task per
        # read cost more than the read itself).
        found = {tf: self._gateway.cached_ohlcv(symbol, tf, self._candles) for tf in self.analyst.config.timeframes}
        missing = [tf for tf, rows in found.items() if rows is None]
        candles: dict[str, Rows] = {tf: rows for tf, rows in found.items() if rows is not None}
        if missing:
            fetched = await asyncio.gather(*(self._gateway.ohlcv(symbol, tf, self._candles) for tf in missing))
            candles.update(zip(missing, fetched, strict=True))
        return {tf: candles[tf] for tf in self.analyst.config.timeframes}

    async def analyse(self, opportunity: Opportunity) -> Analysis:
        candles = await self.fetch_candles(opportunity.symbol)

        async def compute() -> dict[str, Any]:
            return self.analyst.analyse(opportunity, candles).model_dump(mode="json", exclude=set(PER_MESSAGE))

        if self._gateway.options.use_cache:
            key = f"analysis:{self.analyst.name}:{candles_fingerprint(candles)}"
            # L1 keeps the analysis validated (once per load): each message then only gets its own ids.
            template: Analysis = await self._cache.get_or_fetch(
                Tier.TECHNICAL, key, compute, symbol=opportunity.symbol, shape=_validated
            )
        else:  # GATEWAY_MODE=baseline: nothing shared, every analysis computed again, as the original did
            template = _validated(await compute())
        if self._llm is not None:  # its answers are cached by prompt, so a replay does not ask twice
            reviewed = await self._llm.review(opportunity, template.model_dump(mode="json", exclude=set(PER_MESSAGE)))
            template = _validated(reviewed)
        return template.model_copy(
            update={
                "message_id": derived_message_id(opportunity.message_id, "ia1"),
                "created_at": time.time(),
                "opportunity_id": opportunity.message_id,
                "opportunity_created_at": opportunity.created_at,
            }
        )

    async def on_opportunity(self, opportunity: Opportunity, delivery: Delivery) -> None:
        analysis = await self.analyse(opportunity)
        await self._publisher.publish(STREAM_ANALYSES, analysis)
        counter = _analyses.get((analysis.signal, analysis.analyst))
        if counter is None:
            counter = _analyses[analysis.signal, analysis.analyst] = ANALYSES.labels(analysis.signal, analysis.analyst)
        counter.inc()


def _validated(technical: dict[str, Any]) -> Analysis:
    """An analysis checked once, with placeholder ids that each message replaces (``model_copy``)."""
    return Analysis.model_validate({**technical, "opportunity_id": "-", "opportunity_created_at": 0.0})
