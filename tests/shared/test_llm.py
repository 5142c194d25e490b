"""The LLM plumbing against a real OpenAI-compatible HTTP server on loopback and a real Redis."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from devkit import processes
from devkit.llm_server import LlmServer
from shared.cache import CacheConfig, TieredCache
from shared.llm import LlmFailure, StructuredLlm, load_prompt
from shared.settings import ServiceSettings

LlmFactory = Callable[..., StructuredLlm]
PROMPT = load_prompt(Path(__file__).parents[2] / "services" / "ia1" / "prompts" / "analysis.v1.md")


class Reading(BaseModel):
    signal: str
    confidence: float = Field(ge=0, le=1)
    rationale: str


@pytest.fixture
async def make_llm(redis: Redis, redis_url: str, llm: LlmServer) -> AsyncIterator[LlmFactory]:
    made: list[StructuredLlm] = []

    def factory(**overrides: object) -> StructuredLlm:
        values: dict[str, object] = {"service_name": "ia1", "redis_url": redis_url, "llm_base_url": llm.url}
        values.update(overrides)
        settings = ServiceSettings(**values)  # type: ignore[arg-type]
        cache = TieredCache(redis, CacheConfig.from_settings(settings))
        structured = StructuredLlm.from_settings(settings, redis, cache, model="test-model")
        made.append(structured)
        return structured

    yield factory
    for structured in made:
        await structured.close()


async def test_valid_answer_is_validated_and_cached(make_llm: LlmFactory, llm: LlmServer) -> None:
    structured = make_llm()
    context = {"symbol": "BTC/USDT:USDT", "rsi": 61.2}
    first = await structured.ask(PROMPT, context, Reading)
    again = await structured.ask(PROMPT, context, Reading)
    assert first == again and first.signal == "long" and first.confidence == 0.9
    assert len(llm.requests) == 1  # the same prompt on the same data: answered from Redis
    assert llm.authorizations == [None]  # no LLM_API_KEY, no header (a local Ollama needs none)
    request = llm.requests[0]
    assert request["model"] == "test-model" and request["response_format"] == {"type": "json_object"}
    assert '"rsi": 61.2' in request["messages"][1]["content"]  # the data is in the prompt
    await structured.ask(PROMPT, {**context, "rsi": 62.0}, Reading)
    assert len(llm.requests) == 2  # other data, another question
    assert (await structured.budget.left())["requests"] == 600 - 2


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("invalid_json", "invalid_json"),
        ("missing_field", "invalid_output"),
        ("out_of_range", "invalid_output"),
        ("slow", "timeout"),
        ("http_500", "http_error"),
    ],
)
async def test_every_failure_is_an_llm_failure_with_its_reason(
    make_llm: LlmFactory, llm: LlmServer, mode: str, reason: str
) -> None:
    llm.mode = mode
    llm.slow_s = 2.0
    structured = make_llm(llm_timeout_s=0.5)
    with pytest.raises(LlmFailure) as caught:
        await structured.ask(PROMPT, {"mode": mode}, Reading)
    assert caught.value.reason == reason
    llm.mode = "valid"
    assert (await structured.ask(PROMPT, {"mode": mode}, Reading)).signal == "long"  # failures are not cached


async def test_spent_budget_falls_back_without_calling(make_llm: LlmFactory, llm: LlmServer) -> None:
    structured = make_llm(llm_max_requests_per_hour=1)
    await structured.ask(PROMPT, {"n": 1}, Reading)
    with pytest.raises(LlmFailure) as caught:
        await structured.ask(PROMPT, {"n": 2}, Reading)
    assert caught.value.reason == "budget" and len(llm.requests) == 1


async def test_budget_is_shared_by_replicas(redis: Redis, redis_url: str) -> None:
    args = [sys.executable, "-m", "tests.helpers.budget_proc", redis_url, "2", "15", "20"]
    outputs = await asyncio.to_thread(processes.run_many, args, 2)
    granted = [int(out) for out in outputs]
    assert sum(granted) == 20  # 30 attempts from two processes, 20 allowed this hour
    assert min(granted) > 0


def test_a_prompt_file_needs_both_parts(tmp_path: Path) -> None:
    broken = tmp_path / "broken.v1.md"
    broken.write_text("only a system part")
    with pytest.raises(ValueError, match="a line '---'"):
        load_prompt(broken)
    assert (PROMPT.name, PROMPT.version) == ("analysis", "v1")
