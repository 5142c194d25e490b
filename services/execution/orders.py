"""Client order ids derived from decision ids: a decision delivered twice maps to the same order, and a
position to the same protective orders.

BingX accepts 1-40 letters, digits and underscores; a hash keeps any decision id within that.
"""

from __future__ import annotations

import hashlib


def open_order_id(decision_id: str) -> str:
    return "tpo" + hashlib.sha256(decision_id.encode()).hexdigest()[:32]


def close_order_id(open_client_order_id: str) -> str:
    return "tpc" + hashlib.sha256(open_client_order_id.encode()).hexdigest()[:32]


def stop_order_id(open_client_order_id: str, attempt: int = 0) -> str:
    """The position's exchange-side stop-loss (a new attempt gets a new id: a cancelled id is spent)."""
    return "tps" + hashlib.sha256(f"{open_client_order_id}:{attempt}".encode()).hexdigest()[:32]


def take_profit_order_id(open_client_order_id: str, attempt: int = 0) -> str:
    return "tpt" + hashlib.sha256(f"{open_client_order_id}:{attempt}".encode()).hexdigest()[:32]
