"""The connection factory reconnects by itself after a Redis restart."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from tests.redis_server import RedisServer


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
