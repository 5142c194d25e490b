"""The BingX REST subset ccxt uses, served from the synthetic market and the simulated accounts.

Every ``/openApi`` request goes through :func:`gatekeeper` first: it is counted, delayed, possibly
failed by an injected fault, and charged to a rate-limit budget (weight 1 for market data, 2 for
account and order calls, as BingX weighs them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import Counter

from services.exchange_sim.account import Exchange
from services.exchange_sim.auth import verify
from services.exchange_sim.errors import BAD_REQUEST, BAD_SYMBOL, RATE_LIMITED, SimError, error_response, ok
from services.exchange_sim.faults import Controls
from services.exchange_sim.market import INTERVAL_MINUTES, SymbolSpec, SyntheticMarket
from shared import metrics

SIM_REQUESTS = Counter(metrics.name("sim_requests_total"), "Requests the simulator served", ["endpoint", "outcome"])
PUBLIC_WEIGHT, PRIVATE_WEIGHT = 1.0, 2.0
DEPTH_LEVELS = (5, 10, 20, 50, 100, 500, 1000)
PRIVATE_PREFIXES = (
    "/openApi/wallets/",
    "/openApi/swap/v3/user/",
    "/openApi/spot/v1/account/",
    "/openApi/swap/v2/trade/",
    "/openApi/swap/v2/user/",
)

router = APIRouter(prefix="/openApi", include_in_schema=False)
Clock = Callable[[], int]


class SimState:
    def __init__(
        self, market: SyntheticMarket, exchange: Exchange, controls: Controls, keys: dict[str, str], clock: Clock
    ) -> None:
        self.market = market
        self.exchange = exchange
        self.controls = controls
        self.keys = keys
        self.clock = clock


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


async def gatekeeper(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    path = request.url.path
    if not path.startswith("/openApi"):
        return await call_next(request)
    sim = _state(request)
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
        private = path.startswith(PRIVATE_PREFIXES)
        client = request.headers.get("X-BX-APIKEY") or (request.client.host if request.client else "?")
        if not controls.allow(client, PRIVATE_WEIGHT if private else PUBLIC_WEIGHT):
            outcome = "rate_limited"
            return error_response(SimError(RATE_LIMITED, "The request frequency is too high", 429))
        response = await call_next(request)
        if response.status_code >= 400:
            outcome = "error"
        return response
    finally:
        controls.count(path, outcome)
        SIM_REQUESTS.labels(path, outcome).inc()


def _spec(sim: SimState, symbol: str | None) -> SymbolSpec:
    if not symbol:
        raise SimError(BAD_REQUEST, "symbol is required")
    spec = sim.market.by_id.get(symbol)
    if spec is None:
        raise SimError(BAD_SYMBOL, f"{symbol} does not exist")
    return spec


def _int(params: Any, name: str, default: int | None = None) -> int | None:
    text = params.get(name)
    if text in (None, "", "None"):
        return default
    try:
        return int(float(text))
    except ValueError:
        raise SimError(BAD_REQUEST, f"{name} must be an integer") from None


def _authed(request: Request) -> str:
    sim = _state(request)
    return verify(request.url.query, request.headers.get("X-BX-APIKEY"), sim.keys)


def handled(endpoint: Callable[[Request], Any]) -> Callable[[Request], Awaitable[Response]]:
    """Run an endpoint, turning SimError into BingX's error envelope."""

    async def wrapper(request: Request) -> Response:
        try:
            return JSONResponse(ok(endpoint(request)))
        except SimError as error:
            return error_response(error)

    wrapper.__name__ = endpoint.__name__
    return wrapper


# -- public ---------------------------------------------------------------------------------


def server_time(request: Request) -> Any:
    return {"serverTime": _state(request).clock()}


def swap_contracts(request: Request) -> Any:
    return [
        {
            "contractId": str(s.index + 1),
            "symbol": s.exchange_id,
            "currency": "USDT",
            "asset": s.base,
            "size": "1",
            "pricePrecision": s.price_decimals,
            "quantityPrecision": s.quantity_decimals,
            "tradeMinQuantity": 10**-s.quantity_decimals,
            "tradeMinUSDT": 2,
            "feeRate": _state(request).exchange.taker_fee,
            "apiStateOpen": "true",
            "apiStateClose": "true",
            "status": 1,
        }
        for s in _state(request).market.symbols
    ]


def cswap_contracts(request: Request) -> Any:
    return []


def spot_symbols(request: Request) -> Any:
    return {
        "symbols": [
            {
                "symbol": s.exchange_id,
                "tickSize": 10**-s.price_decimals,
                "stepSize": 10**-s.quantity_decimals,
                "minNotional": 2,
                "maxNotional": 1_000_000,
                "status": 1,
                "apiStateBuy": True,
                "apiStateSell": True,
            }
            for s in _state(request).market.symbols
        ]
    }


def _ticker_row(spec: SymbolSpec, t: dict[str, Any], swap: bool) -> dict[str, Any]:
    change = t["last"] - t["open"]
    row = {
        "symbol": spec.exchange_id,
        "priceChange": f"{change:.{spec.price_decimals}f}",
        "priceChangePercent": f"{change / t['open'] * 100:.3f}%",
        "lastPrice": f"{t['last']:.{spec.price_decimals}f}",
        "openPrice": f"{t['open']:.{spec.price_decimals}f}",
        "highPrice": f"{t['high']:.{spec.price_decimals}f}",
        "lowPrice": f"{t['low']:.{spec.price_decimals}f}",
        "volume": f"{t['volume']:.{spec.quantity_decimals}f}",
        "quoteVolume": f"{t['quote_volume']:.2f}",
        "bidPrice": f"{t['bid']:.{spec.price_decimals}f}",
        "bidQty": "1",
        "askPrice": f"{t['ask']:.{spec.price_decimals}f}",
        "askQty": "1",
        "openTime": t["close_time"] - 86_400_000,
        "closeTime": t["close_time"],
    }
    if swap:
        row["lastQty"] = "1"  # ccxt reads a row without lastQty as a spot ticker
    return row


def _tickers(request: Request, swap: bool) -> Any:
    sim = _state(request)
    now = sim.clock()
    symbol = request.query_params.get("symbol")
    if symbol:
        spec = _spec(sim, symbol)
        return _ticker_row(spec, sim.market.ticker(spec, now), swap)
    tickers = sim.market.tickers(now)
    return [_ticker_row(s, tickers[s.exchange_id], swap) for s in sim.market.symbols]


def swap_ticker(request: Request) -> Any:
    return _tickers(request, swap=True)


def spot_ticker(request: Request) -> Any:
    return _tickers(request, swap=False)


def _candles(request: Request) -> tuple[SymbolSpec, list[dict[str, Any]]]:
    sim = _state(request)
    params = request.query_params
    spec = _spec(sim, params.get("symbol"))
    interval = params.get("interval", "")
    if interval not in INTERVAL_MINUTES:
        raise SimError(BAD_REQUEST, f"interval {interval!r} is not supported")
    limit = _int(params, "limit", 500) or 500
    if not 1 <= limit <= 1440:
        raise SimError(BAD_REQUEST, "limit must be between 1 and 1440")
    start = _int(params, "startTime")
    end = _int(params, "endTime")
    return spec, sim.market.candles(spec, interval, start, end, limit, sim.clock())


def swap_klines(request: Request) -> Any:
    spec, rows = _candles(request)
    p, q = spec.price_decimals, spec.quantity_decimals
    return [
        {"open": f"{c['open']:.{p}f}", "high": f"{c['high']:.{p}f}", "low": f"{c['low']:.{p}f}",
         "close": f"{c['close']:.{p}f}", "volume": f"{c['volume']:.{q}f}", "time": c["time"]}
        for c in rows
    ]  # fmt: skip


def spot_klines(request: Request) -> Any:
    _, rows = _candles(request)
    step = INTERVAL_MINUTES[request.query_params["interval"]] * 60_000
    return [
        [
            c["time"],
            c["open"],
            c["high"],
            c["low"],
            c["close"],
            c["volume"],
            c["time"] + step - 1,
            c["volume"] * c["close"],
        ]
        for c in rows
    ]


def _book(request: Request) -> tuple[list[list[str]], list[list[str]], int]:
    sim = _state(request)
    spec = _spec(sim, request.query_params.get("symbol"))
    limit = _int(request.query_params, "limit", 20) or 20
    depth = next((d for d in DEPTH_LEVELS if d >= limit), DEPTH_LEVELS[-1])
    now = sim.clock()
    bids, asks = sim.market.order_book(spec, depth, now)
    p, q = spec.price_decimals, spec.quantity_decimals
    return (
        [[f"{px:.{p}f}", f"{qty:.{q}f}"] for px, qty in bids],
        [[f"{px:.{p}f}", f"{qty:.{q}f}"] for px, qty in asks],
        now,
    )


def swap_depth(request: Request) -> Any:
    bids, asks, now = _book(request)
    return {"T": now, "bids": bids, "asks": asks}


def spot_depth(request: Request) -> Any:
    bids, asks, now = _book(request)
    return {"bids": bids, "asks": asks, "ts": now, "lastUpdateId": now}


# -- private --------------------------------------------------------------------------------


def capital_config(request: Request) -> Any:
    _authed(request)
    return []


def swap_balance(request: Request) -> Any:
    sim = _state(request)
    b = sim.exchange.balance(_authed(request), sim.clock())
    return [
        {
            "asset": "USDT",
            "balance": f"{b['balance']:.4f}",
            "equity": f"{b['equity']:.4f}",
            "unrealizedProfit": f"{b['unrealised']:.4f}",
            "availableMargin": f"{b['available']:.4f}",
            "usedMargin": f"{b['used']:.4f}",
            "freezedMargin": "0",
        }
    ]


def spot_balance(request: Request) -> Any:
    sim = _state(request)
    b = sim.exchange.balance(_authed(request), sim.clock())
    return {"balances": [{"asset": "USDT", "free": f"{b['available']:.4f}", "locked": f"{b['used']:.4f}"}]}


def create_order(request: Request) -> Any:
    sim = _state(request)
    key = _authed(request)
    params = dict(request.query_params)
    spec = _spec(sim, params.get("symbol"))
    return {"order": sim.exchange.place(key, spec, params, sim.clock()).as_bingx()}


def fetch_order(request: Request) -> Any:
    sim = _state(request)
    key = _authed(request)
    params = request.query_params
    order = sim.exchange.find(
        key, params.get("orderId"), params.get("clientOrderId") or params.get("clientOrderID"), sim.clock()
    )
    return {"order": order.as_bingx()}


def cancel_order(request: Request) -> Any:
    sim = _state(request)
    key = _authed(request)
    params = request.query_params
    order = sim.exchange.cancel(
        key, params.get("orderId"), params.get("clientOrderID") or params.get("clientOrderId"), sim.clock()
    )
    return {"order": order.as_bingx()}


def positions(request: Request) -> Any:
    sim = _state(request)
    rows = sim.exchange.positions(_authed(request), sim.clock())
    symbol = request.query_params.get("symbol")
    return [r for r in rows if not symbol or r["symbol"] == symbol]


ROUTES: list[tuple[str, str, Callable[[Request], Any]]] = [
    ("GET", "/swap/v2/server/time", server_time),
    ("GET", "/swap/v2/quote/contracts", swap_contracts),
    ("GET", "/cswap/v1/market/contracts", cswap_contracts),
    ("GET", "/spot/v1/common/symbols", spot_symbols),
    ("GET", "/swap/v2/quote/ticker", swap_ticker),
    ("GET", "/spot/v1/ticker/24hr", spot_ticker),
    ("GET", "/swap/v3/quote/klines", swap_klines),
    ("GET", "/swap/v1/market/markPriceKlines", swap_klines),
    ("GET", "/spot/v1/market/kline", spot_klines),
    ("GET", "/swap/v2/quote/depth", swap_depth),
    ("GET", "/spot/v1/market/depth", spot_depth),
    ("GET", "/wallets/v1/capital/config/getall", capital_config),
    ("GET", "/swap/v3/user/balance", swap_balance),
    ("GET", "/spot/v1/account/balance", spot_balance),
    ("POST", "/swap/v2/trade/order", create_order),
    ("GET", "/swap/v2/trade/order", fetch_order),
    ("DELETE", "/swap/v2/trade/order", cancel_order),
    ("GET", "/swap/v2/user/positions", positions),
]
for _method, _path, _endpoint in ROUTES:
    router.add_api_route(_path, handled(_endpoint), methods=[_method])
