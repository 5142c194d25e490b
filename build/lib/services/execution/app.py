"""execution as a service: consumes decisions, trades (paper by default), watches stops and targets."""

from __future__ import annotations

from fastapi import FastAPI

from services.execution.brokers import select_broker
from services.execution.ledger import HardLimits, Ledger
from services.execution.routes import router
from services.execution.settings import ExecutionSettings
from services.execution.trader import PositionWatcher, Trader
from shared.contracts import Decision
from shared.gateway import MarketDataGateway
from shared.keys import STREAM_DECISIONS
from shared.runtime import Runtime


def build_app(settings: ExecutionSettings, *, gateway: MarketDataGateway | None = None) -> FastAPI:
    runtime = Runtime.build(settings, gateway=gateway)
    limits = HardLimits(
        max_open_positions=settings.risk_max_open_positions, max_total_exposure=settings.risk_max_total_exposure
    )
    ledger = Ledger(runtime.redis, start_balance=settings.paper_start_balance, limits=limits)
    broker = select_broker(settings, ledger, runtime.gateway)
    trader = Trader(ledger, broker, runtime.publisher)
    runtime.consume(STREAM_DECISIONS, "execution", Decision, trader.on_decision)
    watcher = PositionWatcher(
        trader,
        runtime.gateway,
        interval_s=settings.price_watch_interval_s,
        equity_every_s=settings.equity_point_interval_s,
    )
    runtime.components.append(watcher)
    app = runtime.app([router], title="execution")
    app.state.ledger = ledger
    app.state.trader = trader
    app.state.prices = runtime.gateway
    return app
