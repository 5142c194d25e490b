"""Fixtures for the simulator's tests: the real ccxt client on the session's simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import ccxt.async_support as ccxt
import pytest

from devkit.sim_server import SimServer


@pytest.fixture
async def ex(sim: SimServer) -> AsyncIterator[ccxt.bingx]:
    client = sim.ccxt()
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()
