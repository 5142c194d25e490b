"""Every check that can refuse an order, run before anything is sent to the exchange.

:func:`plan_entry` turns a decision into an order plan (quantity rounded to the market's step and
clipped, never enlarged, to the caps) or a refusal with its reason. :func:`cap_refusal` is the part that
must also hold inside the reservation's transaction, where decisions made in parallel meet: it counts
open positions *and* orders still being placed. Pure functions: the caller gathers the facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.execution.settings import ExecutionSettings
from shared.contracts import Decision, Side
from shared.gateway.models import MarketRules
from shared.trading_state import Snapshot


@dataclass(frozen=True)
class Limits:
    """The hard limits execution enforces itself, whatever ia2 decided (RISK_* and execution settings)."""

    max_open_positions: int = 1_000_000
    max_symbol_exposure: float = float("inf")  # notional per symbol, as a share of equity
    max_total_exposure: float = float("inf")  # notional of everything, as a share of equity
    max_daily_loss: float = 1.0
    max_drawdown: float = 1.0
    max_decision_age_s: float = float("inf")
    leverage: float = 1.0
    min_notional: float = 0.0

    @classmethod
    def from_settings(cls, settings: ExecutionSettings) -> Limits:
        return cls(
            max_open_positions=settings.risk_max_open_positions,
            max_symbol_exposure=settings.risk_max_symbol_exposure,
            max_total_exposure=settings.risk_max_total_exposure,
            max_daily_loss=settings.risk_max_daily_loss,
            max_drawdown=settings.risk_max_drawdown,
            max_decision_age_s=settings.decision_max_age_s,
            leverage=settings.trading_leverage,
            min_notional=settings.risk_min_notional,
        )


@dataclass(frozen=True)
class Plan:
    symbol: str
    side: Side
    quantity: float  # rounded down to the step; never more than the decision asked
    price: float  # the fresh market price the checks used
    stop_loss: float
    take_profit: float
    notional: float
    notes: tuple[str, ...] = ()  # why the quantity is smaller than asked, if it is


@dataclass(frozen=True)
class Refusal:
    reason: str


def round_down(quantity: float, step: float) -> float:
    """Down to a multiple of ``step`` (a little tolerance so 0.3/0.1 stays 3 steps)."""
    if step <= 0:
        return quantity
    steps = int(quantity / step + 1e-9)
    return round(steps * step, 12)


def halt_refusal(snapshot: Snapshot, limits: Limits) -> str | None:
    """The account-level stops: kill switch, latched halt, daily loss and drawdown limits."""
    if snapshot.kill_reason:
        return f"kill switch on: {snapshot.kill_reason}"
    if snapshot.halt_reason:
        return f"trading halted until an operator resets it: {snapshot.halt_reason}"
    if snapshot.daily_loss >= limits.max_daily_loss:
        return f"daily loss {snapshot.daily_loss:.1%} reached the limit {limits.max_daily_loss:.1%}"
    if snapshot.drawdown >= limits.max_drawdown:
        return f"drawdown {snapshot.drawdown:.1%} reached the limit {limits.max_drawdown:.1%}"
    return None


def cap_refusal(snapshot: Snapshot, symbol: str, notional: float, limits: Limits) -> str | None:
    """Position count, one position per symbol, and total exposure, counting orders being placed."""
    if symbol in snapshot.committed_symbols:
        return "position already open" if symbol in snapshot.positions else "an order on this symbol is being placed"
    count = len(snapshot.positions) + len(snapshot.reservations)
    if count >= limits.max_open_positions:
        return f"{count} positions open or being opened at fill time, the maximum is {limits.max_open_positions}"
    equity = snapshot.equity
    if snapshot.committed_exposure + notional > limits.max_total_exposure * equity * (1 + 1e-9):
        cap = f"{limits.max_total_exposure:.0%} of equity"
        return f"total exposure {snapshot.committed_exposure + notional:,.0f} would exceed {cap} at fill time"
    return None


def _stop_refusal(side: Side, price: float, stop: float, target: float) -> str | None:
    if side == "long" and price <= stop:
        return f"the price {price:.6g} is already at or below the stop-loss {stop:.6g}"
    if side == "short" and price >= stop:
        return f"the price {price:.6g} is already at or above the stop-loss {stop:.6g}"
    if side == "long" and price >= target:
        return f"the price {price:.6g} is already at or above the take-profit {target:.6g}"
    if side == "short" and price <= target:
        return f"the price {price:.6g} is already at or below the take-profit {target:.6g}"
    return None


def _clipped(quantity: float, cap_notional: float, price: float, label: str) -> tuple[float, str | None]:
    allowed = max(0.0, cap_notional / price)
    if quantity <= allowed:
        return quantity, None
    return allowed, f"size clipped from {quantity:.6g} to {allowed:.6g} by {label} at fill time"


def plan_entry(
    decision: Decision, snapshot: Snapshot, price: float | None, rules: MarketRules, limits: Limits, now: float
) -> Plan | Refusal:
    """The order to send for ``decision``, or why none may be sent."""
    assert decision.side is not None and decision.stop_loss is not None and decision.take_profit is not None
    if (why := halt_refusal(snapshot, limits)) is not None:
        return Refusal(why)
    age = now - decision.created_at
    if age > limits.max_decision_age_s:
        return Refusal(f"decision is {age:.0f} s old, older than the {limits.max_decision_age_s:.0f} s allowed")
    if price is None or price <= 0:
        return Refusal("no market price fresh enough to trade on")
    if (why := _stop_refusal(decision.side, price, decision.stop_loss, decision.take_profit)) is not None:
        return Refusal(why)
    equity = snapshot.equity
    quantity, notes = decision.quantity, []
    for cap, label in (
        (limits.max_symbol_exposure * equity, f"the {limits.max_symbol_exposure:.0%} per-symbol cap"),
        (
            limits.max_total_exposure * equity - snapshot.committed_exposure,
            f"the {limits.max_total_exposure:.0%} total cap",
        ),
    ):
        quantity, note = _clipped(quantity, cap, price, label)
        if note:
            notes.append(note)
    quantity = round_down(quantity, rules.amount_step)
    notional = quantity * price
    minimum = max(rules.min_notional, limits.min_notional)
    if quantity <= 0 or quantity < rules.min_quantity or notional < minimum:
        return Refusal(
            f"{quantity:.6g} ({notional:.2f} USDT) after rounding and the caps is under the exchange's minimum "
            f"({rules.min_quantity:g} or {minimum:.2f} USDT)"
        )
    if (why := cap_refusal(snapshot, decision.symbol, notional, limits)) is not None:
        return Refusal(why)
    free = (
        equity
        - sum(p.margin for p in snapshot.positions.values())
        - sum(o.notional / limits.leverage for o in snapshot.reservations.values())
    )
    if notional / limits.leverage > free:
        return Refusal(f"insufficient margin: {notional / limits.leverage:,.2f} USDT needed, {free:,.2f} free")
    return Plan(
        decision.symbol,
        decision.side,
        quantity,
        price,
        decision.stop_loss,
        decision.take_profit,
        notional,
        tuple(notes),
    )
