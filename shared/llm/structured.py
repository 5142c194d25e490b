"""Ask a model for a JSON answer that must validate against a pydantic schema, through the shared
budget and the response cache: the same prompt on the same data is answered from Redis (technical
tier), so replays, redeliveries and replicas do not pay twice."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
from fastapi import APIRouter
from prometheus_client import Counter, Gauge, Histogram
from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import Redis

from shared import metrics
from shared.cache import Tier, TieredCache
from shared.errors import ConfigurationError
from shared.llm.budget import LlmBudget
from shared.llm.client import ChatClient, LlmFailure
from shared.problems import problems
from shared.settings import ServiceSettings

T = TypeVar("T", bound=BaseModel)

LLM_REQUESTS = Counter(metrics.name("llm_requests_total"), "Model calls by outcome", ["service", "outcome"])
LLM_SECONDS = Histogram(
    metrics.name("llm_request_seconds"), "Model call latency", ["service"], buckets=metrics.LATENCY_BUCKETS
)
LLM_TOKENS = Counter(metrics.name("llm_tokens_total"), "Tokens used by model calls", ["service"])
LLM_CACHE_HITS = Counter(metrics.name("llm_cache_hits_total"), "Answers served from the response cache", ["service"])
LLM_FALLBACKS = Counter(
    metrics.name("llm_fallbacks_total"), "Messages handled by the rules instead, by reason", ["service", "reason"]
)
LLM_BUDGET_LEFT = Gauge(metrics.name("llm_budget_left"), "Budget left this hour", ["service", "kind"])


@dataclass(frozen=True)
class Prompt:
    """A versioned template from a file ``<name>.<version>.md``: system text, a ``---`` line, user text."""

    name: str
    version: str
    system: str
    user: str

    def render(self, context: dict[str, Any], schema: type[BaseModel]) -> tuple[str, str]:
        context_json = orjson.dumps(context, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()
        schema_json = orjson.dumps(schema.model_json_schema()).decode()
        user = self.user.replace("{context}", context_json).replace("{schema}", schema_json)
        return self.system, user


class Budget(BaseModel):
    requests: int = Field(description="model calls")
    tokens: int = Field(description="tokens, prompt and answer together")


class LlmStatus(BaseModel):
    """Which provider decides, and for a model what is left of its hourly budget (shared by the replicas)."""

    provider: Literal["rules", "llm"] = Field(description="rules, or llm: a model, with the rules as fallback")
    model: str | None = Field(None, description="the model asked (llm only)")
    budget_left: Budget | None = Field(None, description="what this hour still allows (llm only)")
    budget_per_hour: Budget | None = Field(None, description="LLM_MAX_REQUESTS_PER_HOUR and _TOKENS_ (llm only)")
    state: str | None = Field(None, description="active, or why the rules decide for now (llm only)")


def load_prompt(path: Path) -> Prompt:
    name, version = path.name.removesuffix(".md").rsplit(".", 1)
    system, _, user = path.read_text().partition("\n---\n")
    if not user.strip():
        raise ValueError(f"{path}: a prompt needs a system part, a line '---', then a user part")
    return Prompt(name, version, system.strip(), user.strip())


class StructuredLlm:
    def __init__(
        self,
        client: ChatClient,
        cache: TieredCache,
        budget: LlmBudget,
        *,
        service: str,
        model: str,
        max_tokens: int,
    ) -> None:
        self._client = client
        self._cache = cache
        self.budget = budget
        self.service = service
        self.model = model
        self._max_tokens = max_tokens
        self.answers = {"asked": 0, "from_cache": 0}  # this instance's questions, and those the cache answered

    @classmethod
    def from_settings(cls, settings: ServiceSettings, redis: Redis, cache: TieredCache, *, model: str) -> StructuredLlm:
        """The service's LLM, or a ConfigurationError saying what is missing."""
        if not settings.llm_base_url:
            raise ConfigurationError(f"{settings.service_name.upper()}_PROVIDER=llm needs LLM_BASE_URL")
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        client = ChatClient(settings.llm_base_url, key, timeout_s=settings.llm_timeout_s)
        budget = LlmBudget(
            redis,
            settings.service_name,
            max_requests=settings.llm_max_requests_per_hour,
            max_tokens=settings.llm_max_tokens_per_hour,
            prefix=settings.cache_key_prefix,
        )
        return cls(
            client, cache, budget, service=settings.service_name, model=model, max_tokens=settings.llm_max_tokens
        )

    async def ask(self, prompt: Prompt, context: dict[str, Any], schema: type[T]) -> T:
        """The model's answer as ``schema``; ``LlmFailure`` (with its reason) when there is none to use."""
        system, user = prompt.render(context, schema)
        digest = hashlib.sha256(f"{self.model}\0{prompt.name}.{prompt.version}\0{system}\0{user}".encode()).hexdigest()
        called = False

        async def call() -> dict[str, Any]:
            nonlocal called
            called = True
            return await self._call(system, user, schema)

        self.answers["asked"] += 1
        answer = await self._cache.get_or_fetch(Tier.TECHNICAL, f"llm:{self.service}:{digest[:32]}", call)
        if not called:
            self.answers["from_cache"] += 1
            LLM_CACHE_HITS.labels(self.service).inc()
        return schema.model_validate(answer)

    async def _call(self, system: str, user: str, schema: type[T]) -> dict[str, Any]:
        if not await self.budget.reserve():
            LLM_REQUESTS.labels(self.service, "budget").inc()
            raise LlmFailure("budget", "hourly LLM budget spent")
        started = time.perf_counter()
        try:
            completion = await self._client.complete(self.model, system, user, max_tokens=self._max_tokens)
        except LlmFailure as failure:
            LLM_REQUESTS.labels(self.service, failure.reason).inc()
            raise
        finally:
            LLM_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        await self.budget.spend_tokens(completion.tokens)
        LLM_TOKENS.labels(self.service).inc(completion.tokens)
        await self._publish_budget()
        try:
            answer = schema.model_validate(orjson.loads(completion.content))
        except orjson.JSONDecodeError:
            LLM_REQUESTS.labels(self.service, "invalid_json").inc()
            raise LlmFailure("invalid_json", completion.content[:80]) from None
        except ValidationError as error:
            LLM_REQUESTS.labels(self.service, "invalid_output").inc()
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "answer"
            raise LlmFailure("invalid_output", f"{where}: {first['msg']}") from None
        LLM_REQUESTS.labels(self.service, "ok").inc()
        return answer.model_dump(mode="json")

    async def _publish_budget(self) -> None:
        for kind, value in (await self.budget.left()).items():
            LLM_BUDGET_LEFT.labels(self.service, kind).set(value)

    async def status(self) -> LlmStatus:
        left = await self.budget.left()
        spent = left["requests"] == 0 or left["tokens"] == 0
        return LlmStatus(
            provider="llm",
            model=self.model,
            budget_left=Budget.model_validate(left),
            budget_per_hour=Budget(requests=self.budget.max_requests, tokens=self.budget.max_tokens),
            state="budget spent: the rules decide until the next hour" if spent else "active",
        )

    async def close(self) -> None:
        await self._client.close()


def status_router(llm: StructuredLlm | None) -> APIRouter:
    """``GET /llm``: which provider decides, the model and what is left of the hourly budget."""
    router = APIRouter(tags=["llm"])

    @router.get("/llm", responses=problems(503))
    async def llm_status() -> LlmStatus:
        return LlmStatus(provider="rules") if llm is None else await llm.status()

    return router


def fallback(service: str, failure: LlmFailure) -> str:
    """Count a fallback to the rules and say why, for the analysis or decision that records it."""
    LLM_FALLBACKS.labels(service, failure.reason).inc()
    return f"LLM unavailable ({failure}); rule-based result"[:500]
