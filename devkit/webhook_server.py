"""A local webhook receiver for tests, on a loopback port, in a thread: it keeps what it was sent.

Point apprise at it with ``json://127.0.0.1:<port>/hook`` (``url``): every notification arrives as one JSON
POST (title, message, type). ``failing = True`` makes it answer 500, like a notification service that is down.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from devkit.threaded import ThreadedServer


class WebhookServer(ThreadedServer):
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.failing = False
        super().__init__(self._build(), name="webhook test server")

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
