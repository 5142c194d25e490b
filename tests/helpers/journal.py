"""Pipeline messages for the journal's tests, built with only what each test cares about."""

from __future__ import annotations

from typing import Any

from shared.contracts import AccountEvent, Analysis, Decision, EquityFigures, Execution

SYMBOL = "BTC/USDT:USDT"


def analysis(opportunity_created_at: float = 1_000.0, **extra: Any) -> Analysis:
    values: dict[str, Any] = {
        "opportunity_id": "o1",
        "symbol": SYMBOL,
        "signal": "long",
        "confidence": 0.7,
        "price": 100.0,
        "atr": 2.0,
        "rationale": "trend up",
        "setup": "trend_long",
        "opportunity_created_at": opportunity_created_at,
    }
    return Analysis.model_validate(values | extra)


def decision(action: str = "open", **extra: Any) -> Decision:
    values: dict[str, Any] = {
        "analysis_id": "a1",
        "opportunity_id": "o1",
        "symbol": SYMBOL,
        "action": action,
        "entry_price": 100.0,
        "confidence": 0.7,
        "required_confidence": 0.55,
        "reasons": ["because"],
        "opportunity_created_at": 1_000.0,
    }
    if action == "open":
        values |= {"side": "long", "quantity": 1.0, "stop_loss": 90.0, "take_profit": 120.0}
    return Decision.model_validate(values | extra)


def fill(decision_id: str, kind: str = "open", **extra: Any) -> Execution:
    values: dict[str, Any] = {
        "decision_id": decision_id,
        "client_order_id": f"tp{kind[0]}{decision_id}"[:40],
        "symbol": SYMBOL,
        "kind": kind,
        "status": "filled",
        "mode": "paper",
        "side": "long",
        "quantity": 1.0,
        "price": 100.0 if kind == "open" else 90.0,
        "fee": 0.1 if kind == "open" else 0.09,
        "realized_pnl": 0.0 if kind == "open" else -10.0,
        "reason": "" if kind == "open" else "stop-loss",
    }
    return Execution.model_validate(values | extra)


def equity(value: float, at: float, mode: str = "paper") -> AccountEvent:
    return AccountEvent(kind="equity", mode=mode, equity=EquityFigures(equity=value, cash=value), created_at=at)


def funding(decision_id: str, amount: float, **extra: Any) -> AccountEvent:
    return AccountEvent(kind="funding", symbol=SYMBOL, decision_id=decision_id, amount=amount, **extra)
