"""The pipeline as real processes, one per service instance, on free ports, against a given Redis and
exchange: what the e2e and chaos tests and benchmark B3 run.

Instances are named after their service (``ia1``), or ``ia1-0``, ``ia1-1``... with replicas. Every
process is a supervised devkit child: the stack is a context manager, and whatever happens inside, every
instance is stopped (SIGTERM, then SIGKILL) on the way out.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from devkit.net import free_port
from devkit.supervisor import Supervisor

SERVICES = ("journal", "execution", "ia2", "ia1", "scout", "monitor")
ROOT = Path(__file__).resolve().parent.parent  # children run from here, so `-m services...` resolves


class Stack:
    def __init__(
        self,
        redis_url: str,
        exchange_url: str,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        *,
        services: Sequence[str] = SERVICES,
        replicas: int = 1,
        **more_env: str,
    ) -> None:
        self.names = [s if replicas == 1 else f"{s}-{i}" for s in services for i in range(replicas)]
        self.service_of = {name: name.rsplit("-", 1)[0] if replicas > 1 else name for name in self.names}
        self.ports = {name: free_port() for name in self.names}
        self.log_dir = log_dir
        urls = {n: f"http://127.0.0.1:{p}" for n, p in self.ports.items() if self.service_of[n] != "monitor"}
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "EXCHANGE_BASE_URL": exchange_url,
            "EXCHANGE_RATE_PER_S": "200",
            "EXCHANGE_RATE_BURST": "200",
            "SCAN_INTERVAL_S": "3",
            "STREAM_CLAIM_IDLE_MS": "2000",
            "STREAM_BLOCK_MS": "200",
            "PRICE_WATCH_INTERVAL_S": "0.5",
            "ADMIN_TOKEN": "e2e-admin-token",
            "SERVICE_URLS": json.dumps(urls),
            "HISTORY_INTERVAL_S": "2",
            "DATA_DIR": str(log_dir / "data"),  # the journal's SQLite file, unless DATABASE_URL is given
            **(env or {}),
            **more_env,
        }
        self.supervisor = Supervisor(log_dir)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop_all()

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return self.supervisor.children

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def log(self, name: str) -> str:
        return self.supervisor.log_tail(name, chars=1_000_000)

    def start(self, name: str, *, wait: bool = True, module: str | None = None, **env: str) -> None:
        """Start an instance (``module`` replaces ``services.<service>``, e.g. a deliberately broken one)."""
        child_env = {**self.env, **env, "PORT": str(self.ports[name])}
        self.supervisor.spawn_module(name, module or f"services.{self.service_of[name]}", child_env, cwd=ROOT)
        if wait:
            self.wait_ready(name)

    def start_all(self) -> None:
        for name in self.names:
            self.start(name, wait=False)
        for name in self.names:
            self.wait_ready(name)

    def wait_ready(self, name: str, timeout_s: float = 60) -> None:
        self.supervisor.wait_ready(name, f"{self.url(name)}/readyz", timeout_s)

    def stop(self, name: str, *, kill: bool = False) -> int:
        return self.supervisor.stop(name, kill=kill)

    def stop_all(self) -> None:
        self.supervisor.stop_all()
