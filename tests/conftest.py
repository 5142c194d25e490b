"""Fixtures that start real servers. Integration tests talk to a real Redis, never a mock.

Where the Redis comes from, in order: ``REDIS_URL`` when set (its database is flushed before each
test, so point it at a scratch database); a private ``redis-server`` on a free port; a testcontainers
Redis when a Docker engine answers. With none of them the session stops before its first test with a
line saying what to install (tests/system_packages.py): it never skips.

PostgreSQL (the journal's tests run on it and on SQLite) likewise: a scratch database per test on the
server ``TEST_DATABASE_URL`` names; else on a private server from Debian's ``postgresql`` binaries (initdb in
a temp dir, a free port); else a testcontainers Postgres when a Docker engine answers; else the same stop.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import ccxt.async_support as ccxt
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from devkit.llm_server import LlmServer
from devkit.postgres_server import PostgresServer, find_postgres_bin
from devkit.redis_server import RedisServer, docker_answers, find_redis_binary
from devkit.sim_server import SimServer
from devkit.stack import Stack
from devkit.webhook_server import WebhookServer
from shared.cache import CacheConfig, TieredCache
from shared.gateway import GatewayOptions, MarketDataGateway
from shared.journal.database import create_engine, migrate
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
    """Gateways on the simulator and the test Redis, with settings (and the cache's clock) overridable per
    call; closed after."""
    made: list[tuple[MarketDataGateway, TieredCache]] = []

    def factory(
        options: GatewayOptions | None = None, *, clock: Callable[[], float] = time.time, **overrides: object
    ) -> MarketDataGateway:
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
        cache = TieredCache(redis, CacheConfig.from_settings(settings), clock=clock)
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


# -- PostgreSQL and the journal's databases ------------------------------------------------------------

NO_POSTGRES = (
    "no PostgreSQL for the journal tests: set TEST_DATABASE_URL (a server where scratch databases may be "
    "created), or apt-get install postgresql, or run a Docker engine"
)


def _docker_postgres() -> Iterator[str] | None:
    if not docker_answers():
        return None
    from testcontainers.postgres import PostgresContainer

    def run() -> Iterator[str]:
        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as container:
            yield container.get_connection_url()

    return run()


class ScratchDatabases:
    """Creates and drops databases on a server, through the URL of a role allowed to."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)

    async def _run(self, statement: str) -> None:
        engine = create_async_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    def create(self) -> str:
        name = f"tp_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._run(f'CREATE DATABASE "{name}"'))
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        asyncio.run(self._run(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def scratch_databases() -> Iterator[ScratchDatabases]:
    if os.environ.get("TEST_DATABASE_URL"):
        yield ScratchDatabases(os.environ["TEST_DATABASE_URL"])
        return
    found = find_postgres_bin()
    if found is not None:
        server = PostgresServer(found).start()
        try:
            yield ScratchDatabases(server.url())
        finally:
            server.remove()
        return
    container = _docker_postgres()
    if container is None:  # the session stops before this (system_packages), unless the check was bypassed
        pytest.fail(NO_POSTGRES)
    for url in container:
        yield ScratchDatabases(url)


@pytest.fixture
def private_postgres(postgres_binaries: str) -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, for tests that kill or restart it."""
    server = PostgresServer(Path(postgres_binaries)).start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty journal database: a SQLite file, then a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3"
        return
    databases: ScratchDatabases = request.getfixturevalue("scratch_databases")
    url = databases.create()
    try:
        yield url
    finally:
        databases.drop(url)


@pytest.fixture
async def journal(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated journal database's writer engine."""
    engine = create_engine(database_url, writer=True)
    await migrate(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    """A local webhook receiver that keeps every notification it gets."""
    server = WebhookServer().start()
    try:
        yield server
    finally:
        server.stop()


JournalFactory = Callable[..., Stack]
NO_EXCHANGE = "http://127.0.0.1:9/openApi"  # the journal service never calls the exchange


@pytest.fixture
def journal_service(redis_url: str, redis: Redis, tmp_path: Path) -> Iterator[JournalFactory]:
    """Starts the journal service as a process (its SQLite journal and log under tmp_path unless DATABASE_URL
    is given) with extra settings, on the test Redis, flushed first (``redis``) so it journals and notifies
    only what the test publishes; every one started is stopped after the test."""
    stacks: list[Stack] = []

    def start(**env: str) -> Stack:
        stack = Stack(redis_url, NO_EXCHANGE, tmp_path / f"journal-{len(stacks)}", env, services=["journal"])
        stacks.append(stack)
        stack.start_all()
        return stack

    yield start
    for stack in stacks:
        stack.stop_all()


@pytest.fixture
async def ex(sim: SimServer) -> AsyncIterator[ccxt.bingx]:
    """The real ccxt client on the session's simulator, with the simulator's account: the "by hand" side."""
    client = sim.ccxt()
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()
