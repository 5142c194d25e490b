"""The FastAPI app factory every service uses.

``GET /livez``   the process answers; never touches Redis.
``GET /readyz``  Redis answers and every component says it is ready; 503 with the reasons otherwise.
``GET /metrics`` Prometheus text for this process.

Components (stream consumers, background loops) are started in order by the lifespan and stopped in
reverse order, so a consumer finishes its in-flight work before Redis is closed under it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis

from shared import metrics
from shared.errors import ConfigurationError
from shared.logs import configure_logging
from shared.settings import ServiceSettings, SettingsT, load_settings

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    metrics.name("http_requests_total"), "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_DURATION = Histogram(
    metrics.name("http_request_duration_seconds"),
    "HTTP request duration",
    ["service", "method", "route"],
    buckets=metrics.LATENCY_BUCKETS,
)
READINESS_TIMEOUT_S = 2.0
DEFAULT_MAX_BODY_BYTES = 1_000_000


@runtime_checkable
class Component(Protocol):
    """Something with a life inside a service: a stream consumer, a scheduler, a pub/sub listener."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> str | None:
        """``None`` when ready, otherwise the reason it is not."""


def _route_template(request: Request) -> str:
    # Label by the route's template, never the raw path: bounded cardinality. The router records the
    # matched route in the scope; requests that matched nothing share one label.
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


async def check_ready(redis: Redis | None, components: Sequence[Component]) -> list[str]:
    problems: list[str] = []
    if redis is not None:
        try:
            await asyncio.wait_for(redis.ping(), READINESS_TIMEOUT_S)
        except Exception as error:  # any failure means "not ready", with the reason
            problems.append(f"redis unreachable: {type(error).__name__}")
            return problems
    for component in components:
        try:
            reason = await asyncio.wait_for(component.ready(), READINESS_TIMEOUT_S)
        except Exception as error:
            reason = f"readiness check failed: {type(error).__name__}"
        if reason:
            problems.append(f"{component.name}: {reason}")
    return problems


def create_app(
    settings: ServiceSettings,
    *,
    redis: Redis | None,
    components: Sequence[Component] = (),
    routers: Sequence[APIRouter] = (),
    title: str | None = None,
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    service = settings.service_name

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started: list[Component] = []
        try:
            for component in components:
                await component.start()
                started.append(component)
            log.info("service started", extra={"port": settings.port})
            yield
        finally:
            for component in reversed(started):
                try:
                    await component.stop()
                except Exception:
                    log.exception("component failed to stop", extra={"component": component.name})
            for hook in on_shutdown:
                await hook()
            if redis is not None:
                await redis.aclose()
            log.info("service stopped")

    app = FastAPI(title=title or service, lifespan=lifespan)
    app.state.settings = settings
    app.state.redis = redis
    app.state.components = list(components)

    @app.middleware("http")
    async def red_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            return JSONResponse({"detail": f"request body over {max_body_bytes} bytes"}, status_code=413)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = _route_template(request)
            HTTP_DURATION.labels(service, request.method, route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(service, request.method, route, str(status)).inc()

    @app.get("/livez", tags=["health"])
    async def livez() -> dict[str, str]:
        return {"status": "alive", "service": service}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready, with the reasons"}})
    async def readyz() -> JSONResponse:
        problems = await check_ready(redis, components)
        if problems:
            return JSONResponse({"status": "not ready", "service": service, "reasons": problems}, 503)
        return JSONResponse({"status": "ready", "service": service})

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    for router in routers:
        app.include_router(router)
    return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run a service's app with uvicorn: the body of every service's ``__main__``."""
    # Everything imported so far (ccxt alone is ~100k objects) lives as long as the process: moved out
    # of the collector's reach, it no longer makes each full collection pause the event loop.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False, lifespan="on")


def run_service(settings_class: type[SettingsT], build_app: Callable[[SettingsT], FastAPI]) -> None:
    """Load and validate settings (exit naming a bad variable), log as JSON, serve the app."""
    settings = load_settings(settings_class)
    configure_logging(settings.service_name, settings.log_level, settings.secret_values())
    try:
        app = build_app(settings)
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    serve(app, settings)
