"""A chat-completions client over httpx for any OpenAI-compatible API (OpenAI, Ollama, vLLM, LM Studio,
OpenRouter...). It asks for a JSON object and turns every way a call can fail into an ``LlmFailure``
with a short reason, which callers count and record when they fall back to the rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from shared.errors import TradepipeError


class LlmFailure(TradepipeError):
    """The model gave no usable answer; ``reason`` is a short label for metrics and the analysis."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Completion:
    content: str
    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatClient:
    def __init__(self, base_url: str, api_key: str | None, *, timeout_s: float) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)

    async def complete(self, model: str, system: str, user: str, *, max_tokens: int) -> Completion:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
            "max_tokens": max_tokens,
            "response_format": {"type": "json_object"},
        }
        try:
            response = await self._http.post("/chat/completions", json=body)
        except httpx.TimeoutException:
            raise LlmFailure("timeout") from None
        except httpx.HTTPError as error:
            raise LlmFailure("http_error", type(error).__name__) from None
        if response.status_code != 200:
            raise LlmFailure("http_error", f"status {response.status_code}")
        try:
            payload = orjson.loads(response.content)
            content = payload["choices"][0]["message"]["content"]
            usage = payload.get("usage") or {}
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
            raise LlmFailure("bad_response", "not a chat-completions answer") from None
        if not isinstance(content, str):
            raise LlmFailure("bad_response", "no text content")
        return Completion(content, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))

    async def close(self) -> None:
        await self._http.aclose()
