"""ia2 as a service: consumes analyses, publishes decisions; the operator resets halts here (routes.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI
from prometheus_client import Counter

from services.ia2.adaptive import AdaptiveConfidence
from services.ia2.llm_strategist import LlmStrategist
from services.ia2.risk import RiskManager
from services.ia2.routes import router
from services.ia2.settings import Ia2Settings
from services.ia2.state import RedisOutcomes, RedisTradingState
from services.ia2.strategist import Strategist
from shared import metrics
from shared.bus import Delivery
from shared.contracts import Analysis, Decision
from shared.gateway import MarketDataGateway
from shared.keys import STREAM_ANALYSES, STREAM_DECISIONS
from shared.llm import StructuredLlm
from shared.llm.structured import status_router
from shared.runtime import Runtime

DECISIONS = Counter(
    metrics.name("decisions_total"), "Decisions published, by action and strategist", ["action", "strategist"]
)
CORRELATION_TIMEFRAME = "1h"


def build_strategist(settings: Ia2Settings, runtime: Runtime) -> Strategist:
    """The rule-based strategist and risk manager, as the service runs it (the benchmarks too)."""

    async def closes_for(symbol: str) -> Sequence[float] | None:
        candles = await runtime.gateway.ohlcv(symbol, CORRELATION_TIMEFRAME, 101)
        return [row[4] for row in candles]

    return Strategist(
        RedisTradingState(runtime.redis, start_balance=settings.paper_start_balance),
        RiskManager(settings.risk_config()),
        AdaptiveConfidence(RedisOutcomes(runtime.redis), base=settings.risk_min_confidence),
        closes_for,
    )


def build_app(settings: Ia2Settings, *, gateway: MarketDataGateway | None = None) -> FastAPI:
    runtime = Runtime.build(settings, gateway=gateway)
    strategist = build_strategist(settings, runtime)

    decide: Callable[[Analysis], Awaitable[Decision]] = strategist.decide
    structured = None
    if settings.ia2_provider == "llm":
        structured = StructuredLlm.from_settings(settings, runtime.redis, runtime.cache, model=settings.ia2_llm_model)
        runtime.on_shutdown.append(structured.close)
        decide = LlmStrategist(structured, strategist).decide

    async def on_analysis(analysis: Analysis, delivery: Delivery) -> None:
        decision = await decide(analysis)
        await runtime.publisher.publish(STREAM_DECISIONS, decision)
        DECISIONS.labels(decision.action, decision.strategist).inc()

    runtime.consume(STREAM_ANALYSES, "ia2", Analysis, on_analysis)
    return runtime.app(
        [router, status_router(structured)], title="ia2 strategist and risk manager", provides=[strategist]
    )
