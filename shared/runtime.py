"""What every service is built from: one Redis client, the shared cache, the gateway, a publisher.

A service's ``build_app`` makes a Runtime from its settings, adds its own consumers and loops as
components, and hands everything to ``shared.app.create_app``. Nothing here touches the network until
the app starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from redis.asyncio import Redis

from shared.app import create_app
from shared.bus import ConsumerConfig, Handler, Publisher, StreamConsumer
from shared.cache import CacheConfig, TieredCache
from shared.deps import provided
from shared.gateway import MarketDataGateway
from shared.lifecycle import Component
from shared.messages import M
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


@dataclass
class Runtime:
    settings: ServiceSettings
    redis: Redis
    cache: TieredCache
    gateway: MarketDataGateway
    publisher: Publisher
    components: list[Component] = field(default_factory=list)
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: ServiceSettings, *, gateway: MarketDataGateway | None = None) -> Runtime:
        redis = create_redis(settings)
        cache = TieredCache(redis, CacheConfig.from_settings(settings))
        return cls(
            settings=settings,
            redis=redis,
            cache=cache,
            gateway=gateway or MarketDataGateway(settings, redis, cache),
            publisher=Publisher(redis, maxlen=settings.stream_maxlen),
            components=[cache],
        )

    def consume(self, stream: str, group: str, model: type[M], handler: Handler[M], **config: Any) -> StreamConsumer[M]:
        """Add the service's consumer of ``stream`` (one group per service: replicas share its work)."""
        consumer = StreamConsumer(
            self.redis,
            stream=stream,
            group=group,
            model=model,
            handler=handler,
            config=ConsumerConfig.from_settings(self.settings, **config),
        )
        self.components.append(consumer)
        return consumer

    def app(
        self, routers: Sequence[APIRouter] = (), *, title: str | None = None, provides: Sequence[object] = ()
    ) -> FastAPI:
        """The service's app; its routes may depend on the runtime and on what ``provides`` lists."""
        return create_app(
            self.settings,
            redis=self.redis,
            components=self.components,
            routers=routers,
            provides=[self, *provides],
            title=title,
            on_shutdown=[*self.on_shutdown, self.gateway.close],
        )


RuntimeDep = Annotated[Runtime, Depends(provided(Runtime))]
