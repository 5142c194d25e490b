"""The FastAPI app factory every service uses.

``GET /livez``   the process answers and no component is dead or stuck; never touches Redis.
``GET /readyz``  Redis answers and every component says it is ready; 503 with the reasons otherwise.
``GET /metrics`` Prometheus text for this process.

Every error is answered as problem details (shared/problems.py), and the objects a service hands over
(``provides``) reach its routes as typed dependencies (shared/deps.py).

Components (stream consumers, background loops) start in order once Redis accepts writes and stop in
reverse order, so a consumer finishes its in-flight work before Redis is closed under it (see
shared/lifecycle.py). A service stops within ``SHUTDOWN_DEADLINE_S`` of SIGTERM whatever its clients,
Redis or the exchange do: HTTP connections get a short grace, components what is left of the budget,
and a watchdog ends the process if anything still holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from types import FrameType
from typing import Literal

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from shared import metrics, problems
from shared.deps import check_provided, provide
from shared.errors import ConfigurationError
from shared.lifecycle import READINESS_TIMEOUT_S, START_INLINE_S, Component, Lifecycle
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
DEFAULT_MAX_BODY_BYTES = 1_000_000
SHUTDOWN_DEADLINE_S = 10.0  # from SIGTERM to exit, whatever happens
HTTP_GRACE_S = 2  # open requests and websockets get this long, then they are cut
COMPONENT_STOP_BUDGET_S = 6.0  # what the components share, after the HTTP grace

__all__ = ["Component", "Health", "create_app", "run_service", "serve"]


class Health(BaseModel):
    """Whether a service is alive (/livez) or ready (/readyz), and if not, why."""

    status: Literal["alive", "dead", "ready", "not ready"] = Field(description="the answer")
    service: str = Field(description="the service that answers (SERVICE_NAME)")
    reasons: list[str] = Field(
        default_factory=list, description="why it is dead or not ready, one line per cause; empty when all is well"
    )


def _route_template(request: Request) -> str:
    # Label by the route's template, never the raw path: bounded cardinality. The router records the
    # matched route in the scope; requests that matched nothing share one label.
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


async def check_ready(redis: Redis | None, lifecycle: Lifecycle) -> list[str]:
    if redis is not None:
        try:
            await asyncio.wait_for(redis.ping(), READINESS_TIMEOUT_S)
        except Exception as error:  # any failure means "not ready", with the reason
            return [f"redis unreachable: {type(error).__name__}"]
    return await lifecycle.not_ready()


def create_app(
    settings: ServiceSettings,
    *,
    redis: Redis | None,
    components: Sequence[Component] = (),
    routers: Sequence[APIRouter] = (),
    provides: Sequence[object] = (),
    title: str | None = None,
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    start_inline_s: float = START_INLINE_S,
    component_stop_budget_s: float = COMPONENT_STOP_BUDGET_S,
) -> FastAPI:
    service = settings.service_name

    lifecycle = Lifecycle(components, redis, stop_budget_s=component_stop_budget_s, start_inline_s=start_inline_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await lifecycle.start()
        log.info("service started", extra={"port": settings.port})
        try:
            yield
        finally:
            await lifecycle.stop()
            for hook in on_shutdown:
                try:
                    await asyncio.wait_for(hook(), 2.0)
                except Exception:
                    log.exception("shutdown hook failed")
            if redis is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(redis.aclose(), 2.0)
            log.info("service stopped")

    # FastAPI counts the body as it streams in, in a middleware outside routing: an oversized (even chunked)
    # body is refused with 413 before auth or parsing have read it whole.
    app = FastAPI(title=title or service, lifespan=lifespan, max_body_size=max_body_bytes)
    provide(app, [settings, lifecycle, *([redis] if redis is not None else []), *provides])
    problems.install(app)

    @app.middleware("http")
    async def red_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
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

    @app.get(
        "/livez", tags=["health"], responses={503: {"model": Health, "description": "a component is dead or stuck"}}
    )
    async def livez(response: Response) -> Health:
        reasons = lifecycle.not_alive()
        if reasons:
            response.status_code = 503
            return Health(status="dead", service=service, reasons=reasons)
        return Health(status="alive", service=service)

    @app.get(
        "/readyz", tags=["health"], responses={503: {"model": Health, "description": "not ready, with the reasons"}}
    )
    async def readyz(response: Response) -> Health:
        reasons = await check_ready(redis, lifecycle)
        if reasons:
            response.status_code = 503
            return Health(status="not ready", service=service, reasons=reasons)
        return Health(status="ready", service=service)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    for router in routers:
        app.include_router(router)
    check_provided(app, routers)
    return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run a service's app with uvicorn: the body of every service's ``__main__``."""
    # Everything imported so far (ccxt alone is ~100k objects) lives as long as the process: moved out
    # of the collector's reach, it no longer makes each full collection pause the event loop.
    gc.collect()
    gc.freeze()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=HTTP_GRACE_S,  # an idle websocket client cannot hold the process
    )
    BoundedServer(config).run()


class BoundedServer(uvicorn.Server):
    """uvicorn, plus a watchdog armed by the first stop signal: the process exits within the deadline."""

    _watchdog: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._watchdog is None:
            self._watchdog = threading.Timer(SHUTDOWN_DEADLINE_S, _exit_now)
            self._watchdog.daemon = True
            self._watchdog.start()
        super().handle_exit(sig, frame)


def _exit_now() -> None:
    log.error("shutdown overran its %.0f s deadline; exiting now", SHUTDOWN_DEADLINE_S)
    logging.shutdown()
    os._exit(1)


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
