"""Live on the simulator, with execution SIGKILLed on a schedule set by its progress: at the end the
ledger equals the exchange (positions, balance), every open position rests protected on the exchange,
no exchange position is unknown to the ledger, and paper history is untouched. Then stops fire while
execution is down, and the restarted execution books them from the exchange.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest
from redis.asyncio import Redis

from devkit.redis_server import RedisServer
from devkit.sim_server import SimServer
from devkit.stack import Stack
from devkit.waits import eventually
from shared.gateway.gateway import MarketDataGateway
from shared.keys import PAPER_BOOK, book_keys, live_book
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from shared.trading_state import Position
from tests.chaos.pipeline import STAGES, account_for_everything, drained, entries_read, market, publish
from tests.services.exchange_sim.helpers import HOUR, past

pytestmark = pytest.mark.slow
LOAD = 120
MAX_POSITIONS = 4
KILLS = (0.15, 0.35, 0.55, 0.75)  # execution SIGKILLed when its group has read these shares of the load


def _live_env(sim: SimServer) -> dict[str, str]:
    return {
        "TRADING_MODE": "live",
        "LIVE_TRADING_ENABLED": "true",
        "EXCHANGE_API_KEY": sim.settings.sim_api_key,
        "EXCHANGE_API_SECRET": sim.settings.sim_api_secret.get_secret_value(),
        "RECONCILE_INTERVAL_S": "1",
        "RISK_MIN_CONFIDENCE": "0.05",
        "RISK_MAX_OPEN_POSITIONS": str(MAX_POSITIONS),
        "RISK_MAX_SYMBOL_EXPOSURE": "0.1",
        "RISK_MAX_TOTAL_EXPOSURE": "1",
        "TRADING_LEVERAGE": "3",
        "REDIS_SOCKET_TIMEOUT_S": "1",
    }


async def _reached(redis: Redis, threshold: int) -> bool:
    return await entries_read(redis, "execution") >= threshold


async def _paper_history(redis: Redis) -> dict[str, Any]:
    paper = book_keys(PAPER_BOOK)
    return {
        "positions": await redis.hgetall(paper.positions),
        "orders": await redis.hgetall(paper.orders),
        "trades": await redis.lrange(paper.trades, 0, -1),
    }


async def _agrees_with_the_exchange(redis: Redis, ex: ccxt.bingx, book: str) -> bool:
    keys = book_keys(book)
    held = {p["symbol"]: p for p in await ex.fetch_positions()}
    ledger = {k.decode(): Position.model_validate_json(v) for k, v in (await redis.hgetall(keys.positions)).items()}
    if set(held) != set(ledger):
        return False
    for symbol, position in ledger.items():
        if abs(float(held[symbol]["contracts"]) - position.quantity) > 1e-9 or held[symbol]["side"] != position.side:
            return False
        resting = {o["id"] for o in await ex.fetch_open_orders(symbol)}
        if not {position.stop_order_id, position.take_profit_order_id} <= resting:
            return False
    balance = await ex.fetch_balance({"type": "swap"})
    wallet = float(balance["info"]["data"][0]["balance"])
    cash = float((await redis.hget(keys.account, "cash")) or 0)
    return abs(cash - wallet) < 1e-6


async def test_live_execution_killed_on_schedule_leaves_the_ledger_equal_to_the_exchange(
    private_redis: RedisServer, sim: SimServer, ex: ccxt.bingx, tmp_path: Path
) -> None:
    sim.freeze(past(3, hour=2))
    redis = create_redis(ServiceSettings(redis_url=private_redis.url, redis_socket_timeout_s=1))
    paper = book_keys(PAPER_BOOK)  # a paper history that the live run must leave alone
    await redis.hset(paper.orders, "tpo-paper", '{"note": "paper history"}')
    await redis.lpush(paper.trades, b'{"note": "paper trade"}')
    paper_before = await _paper_history(redis)
    book = live_book("bingx", MarketDataGateway._account_id(ServiceSettings(exchange_api_key=sim.settings.sim_api_key)))
    prices = await market(sim)
    with Stack(private_redis.url, sim.api_url, tmp_path, _live_env(sim), services=STAGES) as stack:
        stack.start_all()

        async def killer() -> None:
            for share in KILLS:
                threshold = int(LOAD * share)
                await eventually(lambda t=threshold: _reached(redis, t), 240, what=f"execution read {threshold}")
                stack.stop("execution", kill=True)
                stack.start("execution", wait=False)
                await asyncio.to_thread(stack.wait_ready, "execution")

        chaos = asyncio.create_task(killer())
        sent = await publish(redis, prices, LOAD, rate=20)
        await chaos
        await drained(redis)
        figures = await account_for_everything(redis, sent, max_positions=MAX_POSITIONS, book=book_keys(book))
        assert figures.orders > 0 and figures.refused > 0
        await eventually(lambda: _agrees_with_the_exchange(redis, ex, book), 60, what="ledger equals exchange")

        stack.stop("execution", kill=True)  # now, while nobody watches, the market moves for a day
        sim.advance(24 * HOUR)
        stack.start("execution")
        await eventually(lambda: _agrees_with_the_exchange(redis, ex, book), 60, what="stops booked on restart")

    assert await _paper_history(redis) == paper_before
    await redis.aclose()
