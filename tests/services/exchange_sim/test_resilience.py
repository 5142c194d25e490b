"""Authentication, rate limits, injected faults and the admin token, as ccxt sees them."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest

from devkit.sim_server import SimServer
from tests.services.exchange_sim.helpers import BTC


async def test_bad_signature_is_an_authentication_error(sim: SimServer) -> None:
    client = sim.ccxt(secret="not-the-secret")
    try:
        with pytest.raises(ccxt.AuthenticationError):
            await client.fetch_balance({"type": "swap"})
    finally:
        await client.close()


async def test_rate_limit_answers_bingx_code(ex: ccxt.bingx, sim: SimServer) -> None:
    await ex.load_markets()
    sim.admin("PUT", "/rate-limit", json={"enabled": True, "per_s": 1, "burst": 2})
    with pytest.raises(ccxt.OperationFailed):
        for _ in range(5):
            await ex.fetch_ticker(BTC)
    assert sim.admin("GET", "/stats")["outcomes"]["rate_limited"] >= 1


async def test_injected_503_window_then_recovery(ex: ccxt.bingx, sim: SimServer) -> None:
    await ex.load_markets()
    sim.admin("POST", "/faults", json={"kind": "http_503", "duration_s": 60})
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await ex.fetch_ticker(BTC)
    sim.admin("DELETE", "/faults")  # the window ends
    assert (await ex.fetch_ticker(BTC))["last"] > 0


async def test_injected_timeout(sim: SimServer) -> None:
    client = sim.ccxt(timeout=300)
    try:
        await client.load_markets()
        sim.admin("POST", "/faults", json={"kind": "timeout", "duration_s": 2, "hang_s": 1})
        with pytest.raises(ccxt.RequestTimeout):
            await client.fetch_ticker(BTC)
    finally:
        sim.admin("DELETE", "/faults")
        await client.close()


async def test_injected_fraction_of_failures(ex: ccxt.bingx, sim: SimServer) -> None:
    await ex.load_markets()
    sim.admin("POST", "/faults", json={"kind": "http_503", "probability": 0.5})
    outcomes = []
    for _ in range(40):
        try:
            await ex.fetch_ticker(BTC)
            outcomes.append(True)
        except ccxt.ExchangeNotAvailable:
            outcomes.append(False)
    sim.admin("DELETE", "/faults")
    assert 5 < outcomes.count(False) < 35


def test_admin_needs_the_token(sim: SimServer) -> None:
    import httpx

    assert httpx.post(f"{sim.url}/admin/reset").status_code == 401
    assert httpx.post(f"{sim.url}/admin/reset", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert httpx.get(f"{sim.url}/admin/stats").status_code == 200
