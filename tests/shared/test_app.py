"""The service app factory: liveness never needs Redis, readiness says why not, metrics exposed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter

from devkit.redis_server import RedisServer
from devkit.waits import eventually
from shared.app import create_app
from shared.auth import ADMIN
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


class Flag:
    name = "flag"

    def __init__(self) -> None:
        self.reason: str | None = None
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")

    async def ready(self) -> str | None:
        return self.reason


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")  # type: ignore[arg-type]


async def test_health_endpoints_follow_redis_and_components(private_redis: RedisServer) -> None:
    settings = ServiceSettings(service_name="demo", redis_url=private_redis.url, redis_socket_timeout_s=0.5)
    flag = Flag()
    router = APIRouter()

    @router.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    app = create_app(settings, redis=create_redis(settings), components=[flag], routers=[router])
    async with app.router.lifespan_context(app), client_for(app) as client:
        assert flag.events == ["start"]
        assert (await client.get("/livez")).json() == {"status": "alive", "service": "demo", "reasons": []}
        assert (await client.get("/readyz")).status_code == 200
        flag.reason = "warming up"
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["reasons"] == ["flag: warming up"]
        flag.reason = None

        private_redis.kill()
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["reasons"][0].startswith("redis unreachable")
        assert (await client.get("/livez")).status_code == 200

        private_redis.start()
        assert (await client.get("/readyz")).status_code == 200

        await client.get("/items/1")
        await client.get("/items/2")
        text = (await client.get("/metrics")).text
        assert (
            'tradepipe_http_requests_total{method="GET",route="/items/{item_id}",service="demo",status="200"} 2.0'
            in text
        )
    assert flag.events == ["start", "stop"]


async def test_oversized_body_is_refused() -> None:
    router = APIRouter()

    @router.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    app = create_app(ServiceSettings(), redis=None, routers=[router], max_body_bytes=100)
    async with client_for(app) as client:
        assert (await client.post("/echo", json={"a": "b"})).status_code == 200
        response = await client.post("/echo", json={"a": "x" * 200})
        assert response.status_code == 413
        assert "Content Too Large" in response.text


@pytest.mark.parametrize("path", ["/livez", "/metrics"])
async def test_liveness_and_metrics_work_without_redis(path: str) -> None:
    app = create_app(ServiceSettings(redis_url="redis://127.0.0.1:1/0"), redis=None)
    async with client_for(app) as client:
        assert (await client.get(path)).status_code == 200


async def test_a_streamed_body_is_cut_at_the_limit_before_auth_reads_it() -> None:
    router = APIRouter()

    @router.post("/admin-only", dependencies=ADMIN)
    async def admin_only(body: dict[str, str]) -> dict[str, str]:
        return body

    app = create_app(ServiceSettings(admin_token="t"), redis=None, routers=[router], max_body_bytes=1_000_000)
    sent = 0

    async def two_hundred_megabytes() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse up front
        nonlocal sent
        for _ in range(200 * 16):
            sent += 65_536
            yield b"x" * 65_536

    async with client_for(app) as client:
        response = await client.post("/admin-only", content=two_hundred_megabytes())
    assert response.status_code == 413  # not 401: the size is checked before the token
    assert sent <= 1_000_000 + 2 * 65_536  # read stopped at the limit, the rest never left the client


async def test_start_waits_for_redis_to_accept_writes(private_redis: RedisServer) -> None:
    settings = ServiceSettings(service_name="demo", redis_url=private_redis.url, redis_socket_timeout_s=0.5)
    redis = create_redis(settings)
    await redis.config_set("maxmemory", "1")  # every write refused with OOM, as a full Redis does
    await redis.config_set("maxmemory-policy", "noeviction")
    flag = Flag()
    app = create_app(settings, redis=create_redis(settings), components=[flag], start_inline_s=0.1)
    async with app.router.lifespan_context(app), client_for(app) as client:
        assert (await client.get("/livez")).status_code == 200  # up, not crashed
        waiting = await client.get("/readyz")
        assert waiting.status_code == 503 and "waiting for Redis to accept writes" in waiting.text
        assert "OutOfMemoryError" in waiting.text and flag.events == []
        await redis.config_set("maxmemory", "0")
        await eventually(lambda: flag.events == ["start"], 10)
        assert (await client.get("/readyz")).status_code == 200
    assert flag.events == ["start", "stop"]
    await redis.aclose()


class Stuck(Flag):
    name = "stuck"

    def __init__(self) -> None:
        super().__init__()
        self.dead: str | None = None

    def alive(self) -> str | None:
        return self.dead

    async def stop(self) -> None:
        await asyncio.Event().wait()  # never returns


async def test_livez_reports_a_dead_component_and_stop_is_bounded() -> None:
    stuck = Stuck()
    app = create_app(ServiceSettings(), redis=None, components=[stuck, Flag()], component_stop_budget_s=0.5)
    started = time.monotonic()
    async with app.router.lifespan_context(app), client_for(app) as client:
        assert (await client.get("/livez")).status_code == 200
        stuck.dead = "loop died: RuntimeError"
        response = await client.get("/livez")
        assert response.status_code == 503 and response.json()["reasons"] == ["stuck: loop died: RuntimeError"]
    assert time.monotonic() - started < 5  # the component that never stops was abandoned at its budget
