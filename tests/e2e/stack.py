"""The whole system as real processes: one per service, against a given Redis and simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.redis_server import free_port

SERVICES = ("execution", "ia2", "ia1", "scout", "monitor")


class Stack:
    def __init__(self, redis_url: str, exchange_url: str, log_dir: Path, **env: str) -> None:
        self.ports = {name: free_port() for name in SERVICES}
        self.log_dir = log_dir
        urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items() if name != "monitor"}
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
            **env,
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        env = {**self.env, "PORT": str(self.ports[name])}
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.wait_ready(name)

    def start_all(self) -> None:
        for name in SERVICES:
            self.start(name)

    def wait_ready(self, name: str, timeout_s: float = 30) -> None:
        wait_ready(self.url(name), self.processes[name], self.log_dir / f"{name}.log", timeout_s)

    def stop(self, name: str, *, kill: bool = False) -> int:
        process = self.processes.pop(name)
        process.kill() if kill else process.terminate()
        return process.wait(30)

    def stop_all(self) -> None:
        for name in list(self.processes):
            try:
                self.stop(name)
            except subprocess.TimeoutExpired:
                self.processes.get(name, subprocess.Popen(["true"])).kill()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 30) -> None:
    """Until ``url``/readyz answers 200; fails with the end of the log if the process exits or never gets ready."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{log.stem} not ready: {log.read_text()[-2000:]}")
