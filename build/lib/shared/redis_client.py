"""The one Redis connection factory (redis-py asyncio, hiredis parser when installed).

Timeouts everywhere, retries on connection loss, and a pool that reconnects by itself after a
Redis restart: a broken connection is dropped and the next command opens a new one. The pool is a
blocking one: when every connection is busy (200 concurrent exchange calls each asking the rate
limiter), a command waits up to ``REDIS_POOL_TIMEOUT_S`` for a free connection instead of failing at
once with "Too many connections".
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.settings import ServiceSettings

# Errors after which a command is worth sending again on a fresh connection.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, ConnectionResetError)


def create_redis(settings: ServiceSettings, *, decode_responses: bool = False) -> Redis:
    """A pooled asyncio client. Bytes in, bytes out unless ``decode_responses``."""
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        timeout=settings.redis_pool_timeout_s,
        password=password,
        decode_responses=decode_responses,
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        socket_keepalive=True,
        max_connections=settings.redis_max_connections,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=list(RETRYABLE_ERRORS),
        client_name=settings.service_name,
    )
    client: Redis = Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections
    return client
