"""Where orders go: the paper venue (simulated here) or the exchange (live). The trader, its checks, its
reservations and its ledger are the same for both; only the venue differs.

A venue raises :class:`~shared.errors.PermanentExchangeError` when an order was refused (nothing was
traded: the reservation is released) and :class:`~shared.errors.TransientExchangeError` when the outcome
is unknown (the reservation stays, and the order is looked up by its client id before any retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.execution.checks import Plan
from shared.gateway import Quote
from shared.trading_state import Mode, Position


@dataclass(frozen=True)
class Fill:
    price: float  # average fill price
    quantity: float  # what was filled (a partial fill is less than asked)
    fee: float
    exchange_order_id: str | None = None
    at: float | None = None  # when it filled, on the venue's clock (seconds); None: now


@dataclass(frozen=True)
class Triggered:
    """A resting order of the venue closed the position: at ``fill``, for ``reason``."""

    fill: Fill
    reason: str  # stop-loss | take-profit | liquidation


@dataclass(frozen=True)
class Check:
    """What happened on the venue to a position since the last check (paper; live, the exchange acts and
    reconciliation books it)."""

    triggered: Triggered | None = None
    checked_until_ms: int = 0  # the venue's time up to which the position has been walked
    funding: tuple[tuple[int, float], ...] = ()  # (funding time, amount received; negative: paid)


class Venue(Protocol):
    mode: Mode

    async def start(self) -> None:
        """Learn what the account is like (live: its position mode)."""

    async def prepare(self, symbol: str) -> str | None:
        """Make ``symbol`` tradable as configured (leverage, margin mode); None, or why it is not."""

    async def open(self, plan: Plan, client_order_id: str) -> Fill:
        """Send the entry, with its stop-loss and take-profit, and return its fill."""

    async def find(self, symbol: str, client_order_id: str) -> Fill | None:
        """The fill of an order sent before (a crash or timeout hid its answer), or None if it never traded."""

    async def protect(self, position: Position) -> Position:
        """Make sure the position's stop-loss and take-profit rest on the venue; the position with their ids."""

    async def close(self, position: Position, client_order_id: str, price: float) -> Fill:
        """Close the whole position reduce-only (``price``: the latest market price, for paper fills)."""

    async def funding(self, position: Position) -> float | None:
        """Funding the venue booked on ``position`` so far (received > 0); None when the ledger keeps it."""

    async def check(self, position: Position, quote: Quote) -> Check:
        """What the venue did to ``position`` since its last check: resting levels that fired, funding due."""
