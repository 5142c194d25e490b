"""What every endpoint module shares: the simulator's state, BingX's envelope, request helpers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from services.exchange_sim.auth import verify
from services.exchange_sim.errors import BAD_REQUEST, BAD_SYMBOL, SimError, error_response, ok
from services.exchange_sim.exchange import Exchange
from services.exchange_sim.faults import Controls
from services.exchange_sim.history import Listings
from services.exchange_sim.market import SymbolSpec, SyntheticMarket
from shared.deps import provided

Endpoint = Callable[[Request], Any]


class Route(NamedTuple):
    method: str
    path: str  # under /openApi
    endpoint: Endpoint
    private: bool = False  # signed, and weighs 2 in the rate limit (public market data weighs 1)


class SimClock:
    """The simulator's time in milliseconds: wall time moved by an offset, or frozen at an instant (tests
    move it through the admin API). Whole seconds: tickers and candles asked within the same second agree
    to the digit."""

    def __init__(self) -> None:
        self.offset_ms = 0
        self.frozen_ms: int | None = None

    def __call__(self) -> int:
        if self.frozen_ms is not None:
            return self.frozen_ms // 1000 * 1000
        return (int(time.time() * 1000) + self.offset_ms) // 1000 * 1000

    def reset(self) -> None:
        self.offset_ms, self.frozen_ms = 0, None


class SimState:
    def __init__(
        self,
        market: SyntheticMarket,
        exchange: Exchange,
        controls: Controls,
        keys: dict[str, str],
        clock: SimClock,
        listings: Listings,
    ) -> None:
        self.market = market
        self.exchange = exchange
        self.controls = controls
        self.keys = keys
        self.clock = clock
        self.listings = listings


def state(request: Request) -> SimState:
    """The simulator's state, for the BingX endpoints (they take the request alone)."""
    return provided(SimState)(request)


def spec_of(sim: SimState, symbol: str | None) -> SymbolSpec:
    if not symbol:
        raise SimError(BAD_REQUEST, "symbol is required")
    spec = sim.market.by_id.get(symbol)
    if spec is None:
        raise SimError(BAD_SYMBOL, f"{symbol} does not exist")
    return spec


def optional_spec(sim: SimState, symbol: str | None) -> SymbolSpec | None:
    return spec_of(sim, symbol) if symbol else None


def int_param(params: Any, name: str, default: int | None = None) -> int | None:
    text = params.get(name)
    if text in (None, "", "None"):
        return default
    try:
        return int(float(text))
    except ValueError:
        raise SimError(BAD_REQUEST, f"{name} must be an integer") from None


def limit_param(params: Any, default: int, maximum: int) -> int:
    limit = int_param(params, "limit", default) or default
    if not 1 <= limit <= maximum:
        raise SimError(BAD_REQUEST, f"limit must be between 1 and {maximum}")
    return limit


def authed(request: Request) -> str:
    """The API key of a correctly signed request; SimError(100001) otherwise."""
    return verify(request.url.query, request.headers.get("X-BX-APIKEY"), state(request).keys)


class TopLevel(dict[str, Any]):
    """An answer whose fields sit beside ``code`` in the envelope instead of under ``data`` (BingX
    answers ``positionMargin`` so, and ccxt reads it so)."""


def handled(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """Run an endpoint, turning SimError into BingX's error envelope."""

    async def wrapper(request: Request) -> Response:
        try:
            answer = endpoint(request)
            if isinstance(answer, TopLevel):
                return JSONResponse({"code": 0, "msg": "", **answer})
            return JSONResponse(ok(answer))
        except SimError as error:
            return error_response(error)

    wrapper.__name__ = endpoint.__name__
    return wrapper


def in_window(time: int, start: int | None, end: int | None) -> bool:
    return (start is None or time >= start) and (end is None or time <= end)
