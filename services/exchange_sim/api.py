"""The BingX REST subset ccxt uses, served from the synthetic market and the simulated accounts.

Endpoints live in ``market_api`` (public), ``account_api`` and ``trade_api`` (signed). Every
``/openApi`` request goes through :func:`gatekeeper` first: it is counted, delayed, possibly failed by
an injected fault, and charged to a rate-limit budget (weight 1 for market data, 2 for account and
order calls, as BingX weighs them); then every account is brought up to the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import Counter

from services.exchange_sim import account_api, market_api, trade_api
from services.exchange_sim.errors import RATE_LIMITED, SimError, error_response
from services.exchange_sim.web import Route, handled, state
from shared import metrics

SIM_REQUESTS = Counter(metrics.name("sim_requests_total"), "Requests the simulator served", ["endpoint", "outcome"])
PUBLIC_WEIGHT, PRIVATE_WEIGHT = 1.0, 2.0
ROUTES: list[Route] = [*market_api.ROUTES, *account_api.ROUTES, *trade_api.ROUTES]
PRIVATE_PATHS = {f"/openApi{route.path}" for route in ROUTES if route.private}

router = APIRouter(prefix="/openApi", include_in_schema=False)
for _route in ROUTES:
    router.add_api_route(_route.path, handled(_route.endpoint), methods=[_route.method])


def request_weight(path: str) -> float:
    """What a request costs of the rate-limit budget: market data 1, account and order calls 2 (as BingX)."""
    return PRIVATE_WEIGHT if path in PRIVATE_PATHS else PUBLIC_WEIGHT


async def gatekeeper(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    path = request.url.path
    if not path.startswith("/openApi"):
        return await call_next(request)
    sim = state(request)
    controls = sim.controls
    delay = controls.delay_s()
    if delay:
        await asyncio.sleep(delay)
    fault = controls.fault_for(request.method, path)
    outcome = "ok"
    try:
        if fault is not None:
            outcome = f"fault_{fault.kind}"
            if fault.kind == "timeout":
                await asyncio.sleep(fault.hang_s)
                return PlainTextResponse("gateway timeout", status_code=504)
            if fault.kind == "http_503":
                return PlainTextResponse("service unavailable", status_code=503)
            if fault.kind == "lost_response":
                await call_next(request)  # done, but the answer never arrives
                await asyncio.sleep(fault.hang_s)
                return PlainTextResponse("gateway timeout", status_code=504)
            return error_response(SimError(RATE_LIMITED, "rate limit reached (injected)", 429))
        client = request.headers.get("X-BX-APIKEY") or (request.client.host if request.client else "?")
        if not controls.allow(client, request_weight(path)):
            outcome = "rate_limited"
            return error_response(SimError(RATE_LIMITED, "The request frequency is too high", 429))
        sim.exchange.advance_all(sim.clock())  # whatever came due meanwhile happens first, in time order
        response = await call_next(request)
        if response.status_code >= 400:
            outcome = "error"
        return response
    finally:
        controls.count(path, outcome)
        SIM_REQUESTS.labels(path, outcome).inc()
