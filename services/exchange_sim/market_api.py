"""Public market data as BingX serves it: contracts, time, tickers, klines (last and mark price), depth,
and funding (premium index and rate history). No signature; each request weighs 1 in the rate limit.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from services.exchange_sim import funding, history
from services.exchange_sim.errors import BAD_REQUEST, SimError
from services.exchange_sim.market import INTERVAL_MINUTES, SymbolSpec
from services.exchange_sim.web import Route, int_param, limit_param, optional_spec, spec_of, state

DEPTH_LEVELS = (5, 10, 20, 50, 100, 500, 1000)


def server_time(request: Request) -> Any:
    return {"serverTime": state(request).clock()}


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
            "feeRate": state(request).exchange.venue.fees.taker,
            "apiStateOpen": "true",
            "apiStateClose": "true",
            "status": 1,
        }
        for s in state(request).market.symbols
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
            for s in state(request).market.symbols
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
    sim = state(request)
    now = sim.clock()
    symbol = request.query_params.get("symbol")
    if symbol:
        spec = spec_of(sim, symbol)
        return _ticker_row(spec, sim.market.ticker(spec, now), swap)
    tickers = sim.market.tickers(now)
    return [_ticker_row(s, tickers[s.exchange_id], swap) for s in sim.market.symbols]


def swap_ticker(request: Request) -> Any:
    return _tickers(request, swap=True)


def spot_ticker(request: Request) -> Any:
    return _tickers(request, swap=False)


def _candles(request: Request) -> tuple[SymbolSpec, list[dict[str, Any]]]:
    sim = state(request)
    params = request.query_params
    spec = spec_of(sim, params.get("symbol"))
    interval = params.get("interval", "")
    if interval not in INTERVAL_MINUTES:
        raise SimError(BAD_REQUEST, f"interval {interval!r} is not supported")
    rows = history.candles(
        sim.market,
        spec,
        interval,
        start_ms=int_param(params, "startTime"),
        end_ms=int_param(params, "endTime"),
        limit=limit_param(params, 500, history.MAX_LIMIT),
        now_ms=sim.clock(),
        listed_ms=sim.listings.of(spec),
    )
    return spec, rows


def _decimal_row(c: dict[str, Any], p: int) -> dict[str, str]:
    return {k: f"{c[k]:.{p}f}" for k in ("open", "high", "low", "close")}


def swap_klines(request: Request) -> Any:
    spec, rows = _candles(request)
    q = spec.quantity_decimals
    return [{**_decimal_row(c, spec.price_decimals), "volume": f"{c['volume']:.{q}f}", "time": c["time"]} for c in rows]


def mark_klines(request: Request) -> Any:
    """Mark-price candles: the same path, two more decimals, no volume; ``closeTime`` repeats the
    candle's open time, as BingX's answer does (ccxt reads ``time``, else ``closeTime``, as the open)."""
    spec, rows = _candles(request)
    p = spec.price_decimals + 2
    return [{**_decimal_row(c, p), "volume": "0", "openTime": c["time"], "closeTime": c["time"]} for c in rows]


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
    sim = state(request)
    spec = spec_of(sim, request.query_params.get("symbol"))
    limit = int_param(request.query_params, "limit", 20) or 20
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


def premium_index(request: Request) -> Any:
    sim = state(request)
    now = sim.clock()
    spec = optional_spec(sim, request.query_params.get("symbol"))
    if spec is not None:
        return funding.premium_index(sim.market, spec, now)
    return [funding.premium_index(sim.market, s, now) for s in sim.market.symbols]


def funding_rate_history(request: Request) -> Any:
    sim = state(request)
    params = request.query_params
    spec = spec_of(sim, params.get("symbol"))
    return funding.rate_history(
        sim.market,
        spec,
        start_ms=int_param(params, "startTime"),
        end_ms=int_param(params, "endTime"),
        limit=limit_param(params, 100, funding.MAX_HISTORY),
        now_ms=sim.clock(),
        listed_ms=sim.listings.of(spec),
    )


ROUTES = [
    Route("GET", "/swap/v2/server/time", server_time),
    Route("GET", "/swap/v2/quote/contracts", swap_contracts),
    Route("GET", "/cswap/v1/market/contracts", cswap_contracts),
    Route("GET", "/spot/v1/common/symbols", spot_symbols),
    Route("GET", "/swap/v2/quote/ticker", swap_ticker),
    Route("GET", "/spot/v1/ticker/24hr", spot_ticker),
    Route("GET", "/swap/v3/quote/klines", swap_klines),
    Route("GET", "/swap/v2/quote/klines", swap_klines),
    Route("GET", "/swap/v1/market/markPriceKlines", mark_klines),
    Route("GET", "/spot/v1/market/kline", spot_klines),
    Route("GET", "/swap/v2/quote/depth", swap_depth),
    Route("GET", "/spot/v1/market/depth", spot_depth),
    Route("GET", "/swap/v2/quote/premiumIndex", premium_index),
    Route("GET", "/swap/v2/quote/fundingRate", funding_rate_history),
]
