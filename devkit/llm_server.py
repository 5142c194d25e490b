"""A local OpenAI-compatible chat-completions server for tests, on a loopback port, in a thread.

``mode`` picks the answer: ``valid`` (the JSON ``responder`` builds from the request), ``invalid_json``,
``missing_field``, ``out_of_range``, ``slow`` (answers after ``slow_s``), ``http_500``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from devkit.threaded import ThreadedServer

Responder = Callable[[str, str], dict[str, Any]]


def trading_responder(system: str, user: str) -> dict[str, Any]:
    """Answers both desks: a confident long reading for ia1; for ia2, a trade far larger than any limit."""
    if "technical analyst" in system:
        return {"signal": "long", "confidence": 0.9, "rationale": "Trend up on every timeframe.", "setup": "llm_trend"}
    block = re.search(r'"rule_proposal": \{(.*?)\}', user, re.DOTALL)
    assert block is not None, "the ia2 prompt carries the rule proposal"
    figures = dict(re.findall(r'"(\w+)": "?([\w.\-e]+)"?', block.group(1)))
    entry, long = float(figures["entry"]), figures["side"] == "long"
    return {
        "action": "open",
        "quantity": float(figures["quantity"]) * 1_000,
        "stop_loss": entry * (0.97 if long else 1.03),
        "take_profit": entry * (1.06 if long else 0.94),
        "confidence": 0.9,
        "reasons": ["Strong trend, size up."],
    }


class LlmServer(ThreadedServer):
    def __init__(self, responder: Responder = trading_responder) -> None:
        self.mode = "valid"
        self.slow_s = 3.0
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        super().__init__(self._build(), name="LLM test server")

    @property
    def url(self) -> str:
        """The base URL an OpenAI-compatible client takes (LLM_BASE_URL)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> Any:
            body = await request.json()
            self.requests.append(body)
            self.authorizations.append(request.headers.get("authorization"))
            system, user = (m["content"] for m in body["messages"])
            if self.mode == "http_500":
                return PlainTextResponse("upstream exploded", status_code=500)
            if self.mode == "slow":
                await asyncio.sleep(self.slow_s)
            answer = self.responder(system, user)
            if self.mode == "missing_field":
                answer.pop(next(iter(answer)))
            if self.mode == "out_of_range":
                answer["confidence"] = 7.5
            content = "Sure! here it is: {" if self.mode == "invalid_json" else json.dumps(answer)
            usage = {"prompt_tokens": len(user) // 4, "completion_tokens": len(content) // 4}
            return JSONResponse({"choices": [{"message": {"role": "assistant", "content": content}}], "usage": usage})

        return app
