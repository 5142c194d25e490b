"""Pointing the real ccxt BingX client at a simulator (or any BingX-compatible base URL)."""

from __future__ import annotations

from typing import Any

# Every REST section ccxt's bingx client knows; overriding them all keeps every call on the simulator.
API_SECTIONS = (
    "fund",
    "spot",
    "swap",
    "contract",
    "wallets",
    "user",
    "subAccount",
    "account",
    "copyTrading",
    "cswap",
    "api",
)


def ccxt_urls(base_url: str) -> dict[str, Any]:
    """``urls`` for ccxt's constructor; ``base_url`` ends in ``/openApi``, e.g. http://127.0.0.1:8020/openApi."""
    base = base_url.rstrip("/")
    return {"api": dict.fromkeys(API_SECTIONS, base)}
