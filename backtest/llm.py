"""LLM analysts in a backtest (``IA1_PROVIDER=llm`` / ``IA2_PROVIDER=llm``; off by default).

The same classes as the services (``LlmAnalyst``, ``LlmStrategist``) through ``shared/llm``: the response
cache (the same prompt on the same figures is answered from Redis) and the hourly budget (spent: the
rules decide, as live). They run under their own service names (``backtest-ia1``, ``backtest-ia2``), so a
backtest never spends the live services' budget. Needs ``REDIS_URL`` and ``LLM_BASE_URL``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from backtest.engine import Engine
from backtest.settings import BacktestSettings
from services.ia1.llm_analyst import LlmAnalyst
from services.ia1.worker import PER_MESSAGE
from services.ia2.llm_strategist import LlmStrategist
from shared.cache import CacheConfig, TieredCache
from shared.contracts import Analysis, Opportunity
from shared.llm import StructuredLlm
from shared.redis_client import create_redis

Counts = Callable[[], dict[str, dict[str, int]]]  # per desk: questions asked, and answered by the cache


@asynccontextmanager
async def models(settings: BacktestSettings, engine: Engine) -> AsyncIterator[Counts | None]:
    """Wire the models the settings ask for into ``engine``; yields how to read their answer counts (None:
    rules only)."""
    if settings.ia1_provider == "rules" and settings.ia2_provider == "rules":
        yield None
        return
    redis = create_redis(settings)
    cache = TieredCache(redis, CacheConfig.from_settings(settings))
    made: dict[str, StructuredLlm] = {}
    try:
        for service, provider, model in (
            ("ia1", settings.ia1_provider, settings.ia1_llm_model),
            ("ia2", settings.ia2_provider, settings.ia2_llm_model),
        ):
            if provider == "llm":
                named = settings.model_copy(update={"service_name": f"backtest-{service}"})
                made[service] = StructuredLlm.from_settings(named, redis, cache, model=model)
        if "ia1" in made:
            analyst = LlmAnalyst(made["ia1"])

            async def review(opportunity: Opportunity, analysis: Analysis) -> Analysis:
                technical = analysis.model_dump(mode="json", exclude=set(PER_MESSAGE))
                reviewed = await analyst.review(opportunity, technical)
                ids = {k: getattr(analysis, k) for k in ("message_id", "opportunity_id", "opportunity_created_at")}
                return Analysis.model_validate(reviewed | ids)

            engine.review = review
        if "ia2" in made:
            engine.decide = LlmStrategist(made["ia2"], engine.strategist).decide
        engine.fast = False
        yield lambda: {service: dict(llm.answers) for service, llm in made.items()}
    finally:
        for llm in made.values():
            await llm.close()
        await cache.stop()
        await redis.aclose()
