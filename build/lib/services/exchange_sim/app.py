"""The simulator as a FastAPI app built with the shared factory (/livez, /readyz, /metrics)."""

from __future__ import annotations

import time

from fastapi import FastAPI

from services.exchange_sim import admin, api
from services.exchange_sim.account import Exchange
from services.exchange_sim.faults import Controls
from services.exchange_sim.market import SyntheticMarket
from services.exchange_sim.settings import SimulatorSettings
from shared.app import create_app


def build_app(settings: SimulatorSettings) -> FastAPI:
    app = create_app(settings, redis=None, routers=[api.router, admin.router], title="exchange simulator")
    app.state.clock_offset_ms = 0
    app.state.clock_frozen_ms = None

    def clock() -> int:
        # Whole seconds: tickers and candles asked within the same second agree to the digit.
        frozen: int | None = app.state.clock_frozen_ms
        if frozen is not None:
            return frozen // 1000 * 1000
        offset: int = app.state.clock_offset_ms
        return (int(time.time() * 1000) + offset) // 1000 * 1000

    market = SyntheticMarket(settings.sim_seed, settings.sim_symbols)
    exchange = Exchange(
        market,
        start_balance=settings.sim_start_balance,
        taker_fee=settings.sim_taker_fee,
        maker_fee=settings.sim_maker_fee,
        leverage=settings.sim_leverage,
    )
    controls = Controls(
        latency_ms=settings.sim_latency_ms,
        jitter_ms=settings.sim_latency_jitter_ms,
        rate=settings.sim_rate_limit_per_s,
        burst=settings.sim_rate_limit_burst,
        limits_on=settings.sim_rate_limit_enabled,
        seed=settings.sim_seed,
    )
    keys = {settings.sim_api_key: settings.sim_api_secret.get_secret_value()}
    app.state.sim = api.SimState(market, exchange, controls, keys, clock)
    app.middleware("http")(api.gatekeeper)
    return app
