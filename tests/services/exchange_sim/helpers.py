"""What the simulator's tests share: instants in the past, the price path as an oracle, small reads.

Tests freeze the simulator's clock at a whole second a few days back and move it forward with
``sim.advance``: every expected price is then computed from the market itself, never from luck.
The clock stays in the past because ccxt fills some windows with its own clock (``fetch_my_trades``
asks for the last 30 days up to *now*).
"""

from __future__ import annotations

import time
from typing import Any

import ccxt.async_support as ccxt
import numpy as np

from devkit.sim_server import SimServer
from services.exchange_sim.market import LEG_MS, MINUTE_MS, SymbolSpec, SyntheticMarket

BTC, ETH, SOL, DOGE = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "DOGE/USDT:USDT"
SECOND, MINUTE, HOUR, DAY = 1_000, 60_000, 3_600_000, 86_400_000
STEP_MS = 100  # the oracle samples the path every 100 ms: it sees every knot of it


def past(days: int = 3, *, hour: int = 0, minute: int = 0, second: int = 30) -> int:
    """A whole-second instant at ``hour:minute:second`` UTC, ``days`` days before today."""
    today = int(time.time() * 1000) // DAY * DAY
    return today - days * DAY + hour * HOUR + minute * MINUTE + second * SECOND


def spec(sim: SimServer, symbol: str) -> SymbolSpec:
    return sim.market.by_id[symbol.split(":", maxsplit=1)[0].replace("/", "-")]


def path(market: SyntheticMarket, spec: SymbolSpec, start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """The mark at every ``STEP_MS`` from ``start_ms`` to ``end_ms``, computed from the market's knots
    (independently of the account engine)."""
    times = np.arange(start_ms, end_ms + 1, STEP_MS, dtype=np.int64)
    first = start_ms // MINUTE_MS
    knots = market.knots(spec, first, end_ms // MINUTE_MS - first + 2)
    row, offset = times // MINUTE_MS - first, times % MINUTE_MS
    leg = np.minimum(offset // LEG_MS, 2)
    frac = (offset - leg * LEG_MS) / LEG_MS
    start, end = knots[row, leg], knots[row, leg + 1]
    return times, start * (end / start) ** frac


def first_reach(
    market: SyntheticMarket, spec: SymbolSpec, level: float, direction: str, start_ms: int, end_ms: int
) -> int | None:
    """The first sampled instant the mark is at or beyond ``level`` ("down": at or below)."""
    times, prices = path(market, spec, start_ms, end_ms)
    hits = np.flatnonzero(prices <= level if direction == "down" else prices >= level)
    return int(times[hits[0]]) if len(hits) else None


def extreme(market: SyntheticMarket, spec: SymbolSpec, start_ms: int, end_ms: int, *, low: bool) -> float:
    _, prices = path(market, spec, start_ms, end_ms)
    return float(prices.min() if low else prices.max())


def rounded(price: float, spec: SymbolSpec) -> float:
    return round(price, spec.price_decimals)


async def wallet(ex: ccxt.bingx) -> float:
    """The USDT wallet balance (before unrealised PnL), as BingX reports it."""
    balance = await ex.fetch_balance({"type": "swap"})
    [row] = balance["info"]["data"]
    return float(row["balance"])


async def income(ex: ccxt.bingx, kind: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """Income history rows (``user/income``) through ccxt's implicit API."""
    request = {"incomeType": kind, **params} if kind else dict(params)
    answer = await ex.swapV2PrivateGetUserIncome(request)
    rows: list[dict[str, Any]] = answer["data"]
    return rows


async def position(ex: ccxt.bingx, symbol: str, side: str | None = None) -> dict[str, Any] | None:
    rows = [p for p in await ex.fetch_positions([symbol]) if side is None or p["side"] == side]
    assert len(rows) <= 1
    return rows[0] if rows else None
