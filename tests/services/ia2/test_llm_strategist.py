"""ia2 with a model (the loopback OpenAI-compatible server): the risk manager still decides."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from redis.asyncio import Redis

from devkit.llm_server import LlmServer
from services.ia2.adaptive import AdaptiveConfidence
from services.ia2.llm_strategist import LlmStrategist
from services.ia2.risk import RiskConfig, RiskManager
from services.ia2.state import RedisOutcomes, RedisTradingState
from services.ia2.strategist import Strategist
from shared.cache import CacheConfig, TieredCache
from shared.contracts import Analysis
from shared.llm import StructuredLlm
from shared.settings import ServiceSettings

CONFIG = RiskConfig(max_symbol_exposure=0.25, max_total_exposure=1.0)


def analysis(signal: str = "long") -> Analysis:
    return Analysis(
        opportunity_id="o1", symbol="BTC/USDT:USDT", signal=signal, confidence=0.8, price=100.0, atr=2.5,
        rationale="LONG on 1h.", setup="trend_long",
    )  # fmt: skip


@pytest.fixture
async def strategist(redis: Redis, redis_url: str, llm: LlmServer) -> AsyncIterator[LlmStrategist]:
    settings = ServiceSettings(service_name="ia2", redis_url=redis_url, llm_base_url=llm.url, llm_timeout_s=0.5)
    structured = StructuredLlm.from_settings(
        settings, redis, TieredCache(redis, CacheConfig.from_settings(settings)), model="m"
    )

    async def closes_for(symbol: str) -> Sequence[float] | None:
        return None

    rules = Strategist(
        RedisTradingState(redis, start_balance=10_000),
        RiskManager(CONFIG),
        AdaptiveConfidence(RedisOutcomes(redis), base=0.55),
        closes_for,
    )
    yield LlmStrategist(structured, rules)
    await structured.close()


async def test_oversized_llm_proposal_is_clipped_by_the_risk_limits(strategist: LlmStrategist, llm: LlmServer) -> None:
    decision = await strategist.decide(analysis())
    assert len(llm.requests) == 1
    assert decision.action == "open" and decision.strategist == "llm"
    # The model asked for 1,000x the rule size; the symbol exposure cap (25 % of 10,000) holds.
    assert decision.quantity * decision.entry_price <= 0.25 * 10_000 + 1e-6
    assert any(r.startswith("llm: ") for r in decision.reasons)


async def test_llm_can_pass_on_a_trade(strategist: LlmStrategist, llm: LlmServer) -> None:
    llm.responder = lambda system, user: {
        "action": "reject", "quantity": 0, "stop_loss": 0, "take_profit": 0, "confidence": 0.2,
        "reasons": ["Funding too high."],
    }  # fmt: skip
    try:
        decision = await strategist.decide(analysis())
    finally:
        llm.responder = LlmServer().responder
    assert (decision.action, decision.strategist) == ("reject", "llm")
    assert decision.reasons == ["llm: Funding too high."]


@pytest.mark.parametrize("mode", ["invalid_json", "out_of_range", "slow", "http_500"])
async def test_failures_decide_by_the_rules_and_say_why(strategist: LlmStrategist, llm: LlmServer, mode: str) -> None:
    llm.mode = mode
    decision = await strategist.decide(analysis())
    assert decision.strategist == "rules"
    assert "LLM unavailable" in decision.reasons[-1]


async def test_rules_rejections_are_not_sent_to_the_model(strategist: LlmStrategist, llm: LlmServer) -> None:
    decision = await strategist.decide(analysis(signal="neutral"))
    assert decision.action == "reject" and llm.requests == []
