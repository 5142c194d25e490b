"""ia1 with a model (the loopback OpenAI-compatible server): the model's reading, or the rules' with why."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from devkit.llm_server import LlmServer
from services.ia1.analyst import RuleAnalyst
from services.ia1.llm_analyst import LlmAnalyst
from services.ia1.worker import PER_MESSAGE
from shared.cache import CacheConfig, TieredCache
from shared.contracts import Analysis
from shared.llm import StructuredLlm
from shared.settings import ServiceSettings
from tests.services.ia1.test_analyst import OPP, frames


@pytest.fixture
async def analyst(redis: Redis, redis_url: str, llm: LlmServer) -> AsyncIterator[LlmAnalyst]:
    settings = ServiceSettings(service_name="ia1", redis_url=redis_url, llm_base_url=llm.url, llm_timeout_s=0.5)
    cache = TieredCache(redis, CacheConfig.from_settings(settings))
    structured = StructuredLlm.from_settings(settings, redis, cache, model="m")
    yield LlmAnalyst(structured)
    await structured.close()


def rules_reading(drift: float) -> dict[str, object]:
    return RuleAnalyst().analyse(OPP, frames(drift)).model_dump(mode="json", exclude=set(PER_MESSAGE))


async def test_model_reading_replaces_the_rules_and_keeps_the_figures(analyst: LlmAnalyst, llm: LlmServer) -> None:
    technical = rules_reading(-0.002)  # the rules read a downtrend
    reviewed = Analysis.model_validate({**await analyst.review(OPP, technical), "opportunity_id": "o1"})
    assert (reviewed.signal, reviewed.analyst, reviewed.setup) == ("long", "llm", "llm_trend")
    assert reviewed.indicators == technical["indicators"] and reviewed.fallback_reason is None
    prompt = llm.requests[0]["messages"][1]["content"]
    assert '"rsi_14"' in prompt or '"rsi"' in prompt  # the computed indicators are in the prompt


@pytest.mark.parametrize("mode", ["invalid_json", "missing_field", "out_of_range", "slow", "http_500"])
async def test_failures_keep_the_rules_analysis_with_the_reason(analyst: LlmAnalyst, llm: LlmServer, mode: str) -> None:
    llm.mode = mode
    technical = rules_reading(0.002)
    reviewed = await analyst.review(OPP, technical)
    assert reviewed["analyst"] == "rules" and reviewed["signal"] == technical["signal"]
    assert "LLM unavailable" in str(reviewed["fallback_reason"])
