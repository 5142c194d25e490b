"""arq (scheduled and background jobs in Redis): the connection settings every service's worker uses."""

from __future__ import annotations

from arq.connections import RedisSettings

from shared.settings import ServiceSettings


def arq_settings(settings: ServiceSettings) -> RedisSettings:
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    if settings.redis_password is not None:
        redis_settings.password = settings.redis_password.get_secret_value()
    return redis_settings
