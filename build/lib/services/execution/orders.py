"""Client order ids derived from decision ids: a decision delivered twice maps to the same order.

BingX accepts 1-40 letters, digits and underscores; a hash keeps any decision id within that.
"""

from __future__ import annotations

import hashlib


def open_order_id(decision_id: str) -> str:
    return "tpo" + hashlib.sha256(decision_id.encode()).hexdigest()[:32]


def close_order_id(open_client_order_id: str) -> str:
    return "tpc" + hashlib.sha256(open_client_order_id.encode()).hexdigest()[:32]
