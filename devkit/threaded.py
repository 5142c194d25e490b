"""An ASGI app served by uvicorn in a thread of the test or benchmark process, on a free loopback port:
the simulator, the LLM server and the webhook receiver are each one of these."""

from __future__ import annotations

import threading
from typing import Any, Self

import uvicorn

from devkit.net import free_port
from devkit.waits import wait_until


class ThreadedServer:
    def __init__(self, app: Any, *, port: int | None = None, name: str = "server") -> None:
        self.port = port or free_port()
        self.app = app
        self.name = name
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name=name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.thread.start()
        if not wait_until(lambda: self.server.started or not self.thread.is_alive(), 15, interval_s=0.02):
            raise RuntimeError(f"{self.name} did not start within 15 s")
        if not self.server.started:
            raise RuntimeError(f"{self.name} stopped while starting (port {self.port} taken?)")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
