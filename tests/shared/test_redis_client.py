"""The connection factory: reconnects after a Redis restart, sends the password, queues for connections."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from devkit.redis_server import RedisServer
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


async def test_reconnects_after_restart(private_redis: RedisServer) -> None:
    redis = create_redis(ServiceSettings(redis_url=private_redis.url, redis_socket_timeout_s=1.0))
    await redis.set("k", "v")
    private_redis.restart()
    assert await redis.ping() is True  # the pool replaced the dead connection
    assert await redis.get("k") is None  # no persistence in the test server
    private_redis.kill()
    with pytest.raises(RedisConnectionError):
        await redis.ping()
    private_redis.start()
    assert await redis.ping() is True
    await redis.aclose()


async def test_password_is_sent(redis_binary: str) -> None:
    server = RedisServer(redis_binary, password="pw-123456").start()
    try:
        good = create_redis(ServiceSettings(redis_url=server.url, redis_password=SecretStr("pw-123456")))
        assert await good.ping() is True
        anonymous = create_redis(ServiceSettings(redis_url=server.url))
        with pytest.raises(AuthenticationError):
            await anonymous.ping()
        await good.aclose()
        await anonymous.aclose()
    finally:
        server.kill()


async def test_more_concurrent_commands_than_connections_wait_for_one(redis_url: str) -> None:
    """200 concurrent exchange calls each ask the limiter: the pool must queue them, not refuse them."""
    settings = ServiceSettings(redis_url=redis_url, redis_max_connections=2, redis_pool_timeout_s=10)
    redis = create_redis(settings)
    # Each BLPOP holds its connection for 50 ms: 20 of them on 2 connections must queue.
    results = await asyncio.gather(*(_hold(redis, f"empty:{i}", 0.05) for i in range(20)))
    assert results == [None] * 20
    assert len(redis.connection_pool._available_connections) + len(redis.connection_pool._in_use_connections) <= 2
    await redis.aclose()


async def test_pool_wait_is_bounded(redis_url: str) -> None:
    settings = ServiceSettings(redis_url=redis_url, redis_max_connections=2, redis_pool_timeout_s=0.2)
    redis = create_redis(settings)
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await asyncio.gather(*(_hold(redis, f"empty:{i}", 1) for i in range(3)))
    await redis.aclose()


async def _hold(redis: Redis, key: str, seconds: float) -> object:
    """A command that keeps its connection busy for ``seconds`` (BLPOP on a list that stays empty)."""
    return await redis.execute_command("BLPOP", key, seconds)  # type: ignore[no-untyped-call]
