"""What ia2 reads and latches about the account, behind two small interfaces.

Live, the state is execution's book in Redis (:class:`RedisTradingState`) and the outcomes are the win and
loss counts execution records per setup (:class:`RedisOutcomes`); a backtest passes its own in-memory
book. The strategist and the risk manager are the same either way.
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

from shared.keys import book_keys
from shared.trading_state import Snapshot, active_book, read_outcomes, read_snapshot, set_flag


class TradingState(Protocol):
    async def snapshot(self) -> Snapshot:
        """The account, open positions, reservations and flags of the book being traded."""

    async def latch_halt(self, reason: str) -> None:
        """Stop new entries until an operator resets (the first reason is kept)."""


class Outcomes(Protocol):
    async def outcomes(self, signal_kind: str) -> tuple[int, int]:
        """(wins, losses) of closed trades of that kind of setup."""


class RedisTradingState:
    def __init__(self, redis: Redis, *, start_balance: float) -> None:
        self.redis = redis
        self.start_balance = start_balance

    async def snapshot(self) -> Snapshot:
        keys = book_keys(await active_book(self.redis))  # the book execution trades on
        return await read_snapshot(self.redis, keys, start_balance=self.start_balance)

    async def latch_halt(self, reason: str) -> None:
        await set_flag(self.redis, book_keys(await active_book(self.redis)).halt, reason)


class RedisOutcomes:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def outcomes(self, signal_kind: str) -> tuple[int, int]:
        return await read_outcomes(self.redis, signal_kind)
