"""The simulator as a FastAPI app built with the shared factory (/livez, /readyz, /metrics)."""

from __future__ import annotations

from fastapi import FastAPI

from services.exchange_sim import admin, api
from services.exchange_sim.accounts import Venue
from services.exchange_sim.exchange import Exchange
from services.exchange_sim.faults import Controls
from services.exchange_sim.funding import funding_rate
from services.exchange_sim.history import Listings
from services.exchange_sim.market import SyntheticMarket
from services.exchange_sim.settings import SimulatorSettings
from services.exchange_sim.web import SimClock, SimState
from shared.app import create_app
from shared.perps import FeeSchedule


def build_app(settings: SimulatorSettings) -> FastAPI:
    clock = SimClock()
    market = SyntheticMarket(settings.sim_seed, settings.sim_symbols)
    venue = Venue(market, FeeSchedule(settings.sim_maker_fee, settings.sim_taker_fee), settings.sim_leverage)
    exchange = Exchange(
        venue,
        start_balance=settings.sim_start_balance,
        rate_of=lambda symbol, time_ms: funding_rate(market, market.by_id[symbol], time_ms),
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
    sim = SimState(market, exchange, controls, keys, clock, Listings(market, settings.sim_listed_from_ms))
    app = create_app(
        settings, redis=None, routers=[api.router, admin.router], provides=[sim], title="exchange simulator"
    )
    app.middleware("http")(api.gatekeeper)
    return app
