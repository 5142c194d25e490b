"""Fixtures that start real servers. Integration tests talk to a real Redis, never a mock.

Where the Redis comes from, in order: ``REDIS_URL`` when set (its database is flushed before each
test, so point it at a scratch database); a private ``redis-server`` on a free port; a testcontainers
Redis when a Docker engine answers. With none of them the session stops before its first test with a
line saying what to install (tests/system_packages.py): it never skips.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from redis.asyncio import Redis

from devkit.llm_server import LlmServer
from devkit.redis_server import RedisServer, docker_answers, find_redis_binary
from devkit.sim_server import SimServer
from shared.cache import CacheConfig, TieredCache
from shared.gateway import GatewayOptions, MarketDataGateway
from shared.redis_client import create_redis
from shared.settings import ServiceSettings

# The programs the tests run (redis-server, docker-compose, promtool, prometheus): their fixtures, and the
# check that stops a session at once, saying what to install, when one its tests need is missing.
pytest_plugins = ["tests.system_packages"]


def _docker_redis() -> Iterator[str] | None:
    if not docker_answers():
        return None
    from testcontainers.redis import RedisContainer

    def run() -> Iterator[str]:
        with RedisContainer("redis:7-alpine") as container:
            yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"

    return run()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = find_redis_binary()
    if binary is not None:
        server = RedisServer(binary).start()
        try:
            yield server.url
        finally:
            server.stop()
        return
    container = _docker_redis()
    if container is None:
        pytest.fail("no Redis for the tests: set REDIS_URL, install redis-server, or run a Docker engine")
    yield from container


@pytest.fixture
def private_redis(redis_binary: str) -> Iterator[RedisServer]:
    """A Redis of the test's own, for tests that stop, kill or restart it."""
    server = RedisServer(redis_binary).start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def settings(redis_url: str) -> ServiceSettings:
    return ServiceSettings(service_name="test", redis_url=redis_url)


@pytest.fixture
async def redis(settings: ServiceSettings) -> AsyncIterator[Redis]:
    client = create_redis(settings)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    """One exchange simulator for the session; ``sim`` resets it before each test."""
    server = SimServer(sim_rate_limit_enabled=False).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sim(sim_server: SimServer) -> SimServer:
    sim_server.admin("POST", "/reset")
    sim_server.admin("PUT", "/rate-limit", json={"enabled": False})
    sim_server.admin("PUT", "/latency", json={"latency_ms": 0})
    return sim_server


GatewayFactory = Callable[..., MarketDataGateway]


@pytest.fixture
async def make_gateway(sim: SimServer, redis: Redis, redis_url: str) -> AsyncIterator[GatewayFactory]:
    """Gateways on the simulator and the test Redis, with settings overridable per call; closed after."""
    made: list[tuple[MarketDataGateway, TieredCache]] = []

    def factory(options: GatewayOptions | None = None, **overrides: object) -> MarketDataGateway:
        values: dict[str, object] = {
            "redis_url": redis_url,
            "exchange_base_url": sim.api_url,
            "exchange_api_key": sim.settings.sim_api_key,
            "exchange_api_secret": sim.settings.sim_api_secret.get_secret_value(),
            "exchange_rate_per_s": 1000,
            "exchange_rate_burst": 1000,
            "exchange_retries": 2,
        }
        values.update(overrides)
        settings = ServiceSettings(**values)  # type: ignore[arg-type]
        cache = TieredCache(redis, CacheConfig.from_settings(settings))
        gateway = MarketDataGateway(settings, redis, cache, options=options)
        made.append((gateway, cache))
        return gateway

    yield factory
    for gateway, cache in made:
        await gateway.close()
        await cache.stop()


@pytest.fixture(scope="session")
def llm_server() -> Iterator[LlmServer]:
    server = LlmServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm(llm_server: LlmServer) -> LlmServer:
    """The session's OpenAI-compatible test server, answering validly, its request log emptied."""
    llm_server.mode = "valid"
    llm_server.requests.clear()
    llm_server.authorizations.clear()
    return llm_server
