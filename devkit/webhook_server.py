"""A local webhook receiver for tests, on a loopback port, in a thread: it keeps what it was sent.

Point apprise at it with ``json://127.0.0.1:<port>/hook`` (``url``): every notification arrives as one JSON
POST (title, message, type). ``failing = True`` makes it answer 500, like a notification service that is down.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from devkit.net import free_port


class WebhookServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.failing = False
        self.app = self._build()
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        """The apprise URL that posts JSON here."""
        return f"json://127.0.0.1:{self.port}/hook"

    def titles(self) -> list[str]:
        return [str(body.get("title", "")) for body in self.received]

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> JSONResponse:
            if self.failing:
                return JSONResponse({"error": "down"}, status_code=500)
            self.received.append(await request.json())
            return JSONResponse({"ok": True})

        return app

    def start(self) -> WebhookServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("webhook test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
