"""The pipeline with IA1_PROVIDER=llm and IA2_PROVIDER=llm against the loopback OpenAI-compatible
server: analyses and decisions come from the models, and the trades still respect the risk limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devkit.llm_server import LlmServer
from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import Stack
from shared.contracts import Analysis, Decision, Execution
from shared.keys import STREAM_ANALYSES, STREAM_DECISIONS, STREAM_EXECUTIONS
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from tests.e2e.test_pipeline import read, wait_for

pytestmark = pytest.mark.slow

EQUITY = 10_000.0
SYMBOL_CAP = 0.25  # RISK_MAX_SYMBOL_EXPOSURE


@pytest.fixture
def llm_stack(private_redis: RedisServer, sim: SimServer, llm: LlmServer, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(
        private_redis.url, sim.api_url, tmp_path,
        IA1_PROVIDER="llm", IA2_PROVIDER="llm", LLM_BASE_URL=llm.url, LLM_API_KEY="test-llm-key",
        IA1_LLM_MODEL="analyst-model", IA2_LLM_MODEL="strategist-model",
        RISK_MIN_CONFIDENCE="0.05", RISK_MAX_SYMBOL_EXPOSURE=str(SYMBOL_CAP),
    )  # fmt: skip
    try:
        for name in ("execution", "ia2", "ia1", "scout"):
            stack.start(name)
        yield stack
    finally:
        stack.stop_all()


async def test_models_analyse_and_decide_and_limits_still_hold(
    llm_stack: Stack, private_redis: RedisServer, llm: LlmServer
) -> None:
    redis = create_redis(ServiceSettings(redis_url=private_redis.url))
    executions = await wait_for(redis, STREAM_EXECUTIONS, Execution, lambda xs: any(x.status == "filled" for x in xs))
    analyses = await read(redis, STREAM_ANALYSES, Analysis)
    decisions = await read(redis, STREAM_DECISIONS, Decision)
    assert any(a.analyst == "llm" for a in analyses)
    opened = [d for d in decisions if d.action == "open"]
    assert opened and all(d.strategist == "llm" for d in opened)
    # The model asked for 1,000x the rule size every time; no fill is larger than the symbol cap.
    for fill in (x for x in executions if x.status == "filled" and x.kind == "open"):
        assert fill.quantity * fill.price <= SYMBOL_CAP * EQUITY * 1.01
    models = {r["model"] for r in llm.requests}
    assert models == {"analyst-model", "strategist-model"}  # two models, one per desk
    assert set(llm.authorizations) == {"Bearer test-llm-key"}
    async with httpx.AsyncClient() as client:
        for name, model in (("ia1", "analyst-model"), ("ia2", "strategist-model")):
            status = (await client.get(f"{llm_stack.url(name)}/llm")).json()
            assert status["provider"] == "llm" and status["model"] == model and status["state"] == "active"
            assert 0 < status["budget_left"]["requests"] < status["budget_per_hour"]["requests"]
    await redis.aclose()
