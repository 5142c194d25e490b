"""execution as a service: consumes decisions, trades on the paper venue or, explicitly, live; protects
and (live) reconciles continuously."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from redis.asyncio import Redis

from services.execution.checks import Limits
from services.execution.ledger import Ledger
from services.execution.live import LiveVenue
from services.execution.paper import PaperVenue
from services.execution.protection import Protection
from services.execution.reconcile import Reconciler
from services.execution.routes import router
from services.execution.settings import ExecutionSettings
from services.execution.trader import Trader
from services.execution.venue import Venue
from shared.contracts import Decision
from shared.errors import ConfigurationError
from shared.gateway import MarketDataGateway
from shared.journal.web import reader_engine
from shared.keys import ACTIVE_BOOK, LEGACY_PAPER_KEYS, PAPER_BOOK, STREAM_DECISIONS, BookKeys, book_keys, live_book
from shared.runtime import Runtime


def check_live_switch(settings: ExecutionSettings) -> None:
    """Live never starts by accident: it needs the mode, the explicit switch, and both keys."""
    if settings.trading_mode == "paper":
        return
    if not settings.live_trading_enabled:
        raise ConfigurationError("TRADING_MODE=live also needs LIVE_TRADING_ENABLED=true: refusing to start")
    if settings.exchange_api_key is None or settings.exchange_api_secret is None:
        raise ConfigurationError("live trading needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET: refusing to start")


def book_of(settings: ExecutionSettings, gateway: MarketDataGateway) -> BookKeys:
    if settings.trading_mode == "paper":
        return book_keys(PAPER_BOOK)
    return book_keys(live_book(settings.exchange_id, gateway.account_id))


@dataclass
class BookKeeper:
    """At start: paper state from before books existed moves into the paper book, and this book becomes
    the active one, which ia2 and monitor read."""

    redis: Redis
    keys: BookKeys
    name: str = "book"

    async def start(self) -> None:
        if self.keys.book == PAPER_BOOK:
            for legacy, part in LEGACY_PAPER_KEYS.items():
                if await self.redis.exists(legacy) and not await self.redis.exists(f"tp:trading:{PAPER_BOOK}:{part}"):
                    await self.redis.rename(legacy, f"tp:trading:{PAPER_BOOK}:{part}")
        await self.redis.set(ACTIVE_BOOK, self.keys.book)

    async def stop(self) -> None:
        return None

    async def ready(self) -> str | None:
        return None


def build_app(settings: ExecutionSettings, *, gateway: MarketDataGateway | None = None) -> FastAPI:
    check_live_switch(settings)
    runtime = Runtime.build(settings, gateway=gateway)
    keys = book_of(settings, runtime.gateway)
    ledger = Ledger(
        runtime.redis, keys, start_balance=settings.paper_start_balance, limits=Limits.from_settings(settings)
    )
    venue: Venue
    if settings.trading_mode == "live":
        live = LiveVenue(
            runtime.gateway.account, runtime.redis, keys,
            leverage=settings.trading_leverage, margin_mode=settings.trading_margin_mode,
        )  # fmt: skip
        venue = live
    else:
        venue = PaperVenue(
            runtime.gateway,
            taker_fee=settings.paper_fee_rate,
            slippage_bps=settings.paper_slippage_bps,
            leverage=settings.trading_leverage,
            margin_mode=settings.trading_margin_mode,
            price_max_age_s=settings.price_max_age_s,
        )
    trader = Trader(
        ledger, venue, runtime.gateway, runtime.publisher,
        price_max_age_s=settings.price_max_age_s, margin_mode=settings.trading_margin_mode,
    )  # fmt: skip
    runtime.components.append(BookKeeper(runtime.redis, keys))
    runtime.consume(STREAM_DECISIONS, "execution", Decision, trader.on_decision)
    protection = Protection(
        trader,
        interval_s=settings.price_watch_interval_s,
        equity_every_s=settings.equity_point_interval_s,
        price_max_age_s=settings.price_max_age_s,
        halt_flatten=settings.halt_flatten,
    )
    runtime.components.append(protection)
    if settings.trading_mode == "live":
        reconciler = Reconciler(
            trader, live, runtime.gateway.account, interval_s=settings.reconcile_interval_s,
            adopt=(settings.adopt_stop_pct, settings.adopt_take_profit_pct),
        )  # fmt: skip
        runtime.components.append(reconciler)
    journal = reader_engine(settings)  # /orders, /trades and /equity read the journal
    runtime.on_shutdown.append(journal.dispose)
    return runtime.app([router], title="execution", provides=[ledger, trader, journal])
