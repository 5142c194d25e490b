"""Known fake secrets never show up in logs, metrics, endpoint bodies or error messages.

The five services run as processes with a Redis password, exchange keys and an admin token set to
recognisable values; after they have worked for a while and every GET endpoint, the admin endpoints
(each must answer 401 without the token and 403 with a wrong one) and some bad requests have been called, every log
line, metric and response body is searched for those values.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devkit.llm_server import LlmServer
from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import SERVICES, Stack
from devkit.waits import wait_until

pytestmark = pytest.mark.slow

SECRETS = {
    "REDIS_PASSWORD": "fake-redis-pw-51c0e2",
    "EXCHANGE_API_KEY": "fake-exchange-key-9f3a1c",
    "EXCHANGE_API_SECRET": "fake-exchange-secret-7d2e4b",
    "ADMIN_TOKEN": "fake-admin-token-a8e6f0",
    "LLM_API_KEY": "fake-llm-key-3b9d17",
    # Notifications go nowhere (port 9 refuses): the token must not leak from the failures either.
    "NOTIFY_URLS": "json://fake-notify-token-c4d2e9@127.0.0.1:9/hook",
}
FAKE_DATABASE_FILE = "fake-db-secret-5e1f07.sqlite3"


@pytest.fixture
def secret_stack(redis_binary: str, llm: LlmServer, tmp_path: Path) -> Iterator[Stack]:
    redis = RedisServer(redis_binary, password=SECRETS["REDIS_PASSWORD"]).start()
    sim = SimServer(
        sim_api_key=SECRETS["EXCHANGE_API_KEY"], sim_api_secret=SECRETS["EXCHANGE_API_SECRET"], sim_symbols=40
    ).start()
    models = {"IA1_PROVIDER": "llm", "IA2_PROVIDER": "llm", "LLM_BASE_URL": llm.url}
    # The journal's database URL is a secret too (it may hold a password): here, a SQLite file's.
    database = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/{FAKE_DATABASE_FILE}"}
    stack = Stack(redis.url, sim.api_url, tmp_path, {"RISK_MIN_CONFIDENCE": "0.05", **models, **SECRETS, **database})
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()
        sim.stop()
        redis.kill()


def _get_paths(client: httpx.Client) -> list[str]:
    schema = client.get("/openapi.json").json()
    return [p for p, ops in schema["paths"].items() if "get" in ops and "{" not in p]


def _mutating(client: httpx.Client) -> list[tuple[str, str]]:
    """Every operation that changes something: all of them are admin endpoints."""
    schema = client.get("/openapi.json").json()
    return [(m, p) for p, ops in schema["paths"].items() for m in ops if m in ("post", "put", "delete")]


def _desks_asked(llm: LlmServer) -> set[str]:
    systems = [r["messages"][0]["content"] for r in list(llm.requests)]
    return {"analyst" if "technical analyst" in text else "strategist" for text in systems}


def test_secrets_never_leave_the_process(secret_stack: Stack, llm: LlmServer, tmp_path: Path) -> None:
    # The pipeline works with the secrets in use: both models were asked, and so were the keyed exchange calls.
    assert wait_until(lambda: _desks_asked(llm) == {"analyst", "strategist"}, 120)
    seen: list[str] = []
    admin_endpoints = 0
    for name in SERVICES:
        with httpx.Client(base_url=secret_stack.url(name), timeout=30) as client:
            seen.append(client.get("/openapi.json").text)
            for path in [*_get_paths(client), "/metrics", "/readyz", "/livez", "/no-such-path"]:
                response = client.get(path, params={"limit": "-1"})
                seen.append(f"{response.status_code} {response.headers} {response.text}")
            for method, path in _mutating(client):
                statuses = []
                for token in (None, "wrong-token", SECRETS["ADMIN_TOKEN"]):
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    response = client.request(method, path, headers=headers, content=b"{not json")
                    statuses.append(response.status_code)
                    seen.append(f"{response.status_code} {response.headers} {response.text}")
                assert statuses[:2] == [401, 403], f"{name} {method} {path}: {statuses}"
                admin_endpoints += 1
    secret_stack.stop_all()  # flushes the last log lines
    assert llm.requests  # the models were called, with the key, which must not leak from there either
    logs = [path.read_text(errors="replace") for path in tmp_path.glob("*.log")]
    assert sum(len(text) for text in logs) > 1000  # the services did log
    assert admin_endpoints >= 4  # kill switch on/off, halt reset, cache invalidation

    for variable, secret in [*SECRETS.items(), ("DATABASE_URL", FAKE_DATABASE_FILE)]:
        leaks = [
            text[max(0, text.find(secret) - 200) : text.find(secret) + 50] for text in [*seen, *logs] if secret in text
        ]
        assert not leaks, f"{variable} leaked: {leaks[:2]}"
