"""ia1 as a service: consumes opportunities, publishes analyses."""

from __future__ import annotations

from fastapi import FastAPI

from services.ia1.analyst import AnalystConfig, RuleAnalyst
from services.ia1.llm_analyst import LlmAnalyst
from services.ia1.settings import Ia1Settings
from services.ia1.worker import Ia1Worker
from shared.contracts import Opportunity
from shared.gateway import MarketDataGateway
from shared.keys import STREAM_OPPORTUNITIES
from shared.llm import StructuredLlm
from shared.llm.structured import status_router
from shared.runtime import Runtime


def build_worker(settings: Ia1Settings, runtime: Runtime) -> tuple[Ia1Worker, StructuredLlm | None]:
    """The analyst as the service runs it (the benchmarks too): rules, and a model when IA1_PROVIDER=llm."""
    analyst = RuleAnalyst(AnalystConfig(primary=settings.ia1_primary_timeframe, timeframes=settings.ia1_timeframes))
    llm, structured = None, None
    if settings.ia1_provider == "llm":
        structured = StructuredLlm.from_settings(settings, runtime.redis, runtime.cache, model=settings.ia1_llm_model)
        runtime.on_shutdown.append(structured.close)
        llm = LlmAnalyst(structured)
    worker = Ia1Worker(
        runtime.gateway, runtime.cache, runtime.publisher, analyst, candles=settings.ia1_candles, llm=llm
    )
    return worker, structured


def build_app(settings: Ia1Settings, *, gateway: MarketDataGateway | None = None) -> FastAPI:
    runtime = Runtime.build(settings, gateway=gateway)
    worker, structured = build_worker(settings, runtime)
    runtime.consume(STREAM_OPPORTUNITIES, "ia1", Opportunity, worker.on_opportunity)
    return runtime.app([status_router(structured)], title="ia1 technical analyst")
