"""The market-data gateway: the only way services read (and, live, trade on) the exchange.

Optimised mode, the default:
- every read goes through the tiered cache, so N services and replicas asking the same thing cause
  one upstream call (the cache's cross-process single-flight) and a failing exchange yields stale data;
- prices come from ONE batched all-tickers call, cached in the price tier, and single prices are
  served from it;
- candles are fetched in one standard window per (symbol, timeframe), so scout and ia1 share them.

Every upstream call passes the circuit breaker, waits for the shared rate-limit budget, and is retried
with backoff and jitter on transient errors only. Baseline mode (``GATEWAY_MODE=baseline``) switches
the optimisations off in the same code: no cache, one ticker call per symbol; it is what the
benchmarks compare against.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import ccxt.async_support as ccxt
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from shared import metrics
from shared.cache import FreshUntil, Refresh, Shape, Tier, TieredCache
from shared.errors import BadRequestError, CircuitOpenError, TransientExchangeError, UpstreamSlow
from shared.gateway.account import ExchangeAccount
from shared.gateway.breaker import CircuitBreaker
from shared.gateway.deadline import DEADLINE_PASSED, SlowExchangeError
from shared.gateway.errors import map_error, outcome_of
from shared.gateway.models import (
    MAX_OHLCV_LIMIT,
    PUBLIC_WEIGHT,
    TIMEFRAME_MS,
    TIMEFRAMES,
    Candles,
    MarketRules,
    OrderBook,
    Quote,
    Ticker,
    candle_close,
    candle_rows,
    frozen_rows,
    merge_candles,
)
from shared.gateway.ratelimit import DistributedRateLimiter
from shared.settings import ServiceSettings

EXCHANGE_REQUESTS = Counter(
    metrics.name("exchange_requests_total"), "Upstream exchange calls by endpoint and outcome", ["endpoint", "outcome"]
)
EXCHANGE_SECONDS = Histogram(
    metrics.name("exchange_request_duration_seconds"),
    "Upstream call latency",
    ["endpoint"],
    buckets=metrics.LATENCY_BUCKETS,
)
CALLS_SAVED = Counter(metrics.name("exchange_calls_saved_total"), "Reads answered without an upstream call", ["kind"])
# Every series exists from the start, at zero; children looked up once (a lookup per read cost a microsecond).
_SAVED = {kind: CALLS_SAVED.labels(kind) for kind in ("markets", "tickers", "ohlcv", "order_book", "funding")}

# Candles fetched per (symbol, timeframe): one cache entry serves every limit up to it. The largest default
# reader (ia1, and scout's prefetch for it) asks for 200; every candle more is decoded on every Redis hit.
OHLCV_WINDOW = 200
# Every REST section ccxt's bingx client knows: a base-URL override (the simulator, a proxy) covers all.
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
T = TypeVar("T")


def ccxt_urls(base_url: str) -> dict[str, Any]:
    """``urls`` for ccxt's constructor; ``base_url`` ends in ``/openApi``, e.g. http://127.0.0.1:8020/openApi."""
    return {"api": dict.fromkeys(API_SECTIONS, base_url.rstrip("/"))}


@dataclass(frozen=True)
class GatewayOptions:
    use_cache: bool = True
    batch_tickers: bool = True

    @classmethod
    def for_mode(cls, mode: str) -> GatewayOptions:
        return cls() if mode == "optimized" else cls(use_cache=False, batch_tickers=False)


def build_exchange(settings: ServiceSettings) -> ccxt.Exchange:
    """The ccxt async client: our limiter replaces ccxt's own throttle; URLs point at EXCHANGE_BASE_URL."""
    config: dict[str, Any] = {
        "enableRateLimit": False,
        "timeout": settings.exchange_timeout_ms,
        "options": {"defaultType": "swap"},
    }
    if settings.exchange_api_key and settings.exchange_api_secret:
        config["apiKey"] = settings.exchange_api_key.get_secret_value()
        config["secret"] = settings.exchange_api_secret.get_secret_value()
    if settings.exchange_base_url:
        config["urls"] = ccxt_urls(settings.exchange_base_url)
    exchange_class = getattr(ccxt, settings.exchange_id, None)
    if exchange_class is None:
        raise BadRequestError(f"unknown exchange id {settings.exchange_id!r} (EXCHANGE_ID)")
    exchange: ccxt.Exchange = exchange_class(config)
    return exchange


class MarketDataGateway:
    def __init__(
        self,
        settings: ServiceSettings,
        redis: Redis,
        cache: TieredCache,
        *,
        exchange: ccxt.Exchange | None = None,
        options: GatewayOptions | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or GatewayOptions.for_mode(settings.gateway_mode)
        self.exchange = exchange or build_exchange(settings)
        self.cache = cache
        self.breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold, reset_s=settings.breaker_reset_s
        )
        self.limiter = DistributedRateLimiter(
            redis,
            key=f"{settings.cache_key_prefix}:ratelimit:{settings.exchange_id}:{self._account_id(settings)}",
            rate_per_s=settings.exchange_rate_per_s,
            burst=settings.exchange_rate_burst,
            max_wait_s=settings.exchange_max_wait_s,
        )
        self._retries = settings.exchange_retries
        self._concurrency = asyncio.Semaphore(settings.exchange_max_concurrency)
        self._markets_lock = asyncio.Lock()
        self._read_deadline_s = settings.exchange_read_deadline_s
        self.account = ExchangeAccount(self)  # the private endpoints: live trading only
        self._candle_grace_s = settings.cache_candle_grace_s

    @staticmethod
    def _account_id(settings: ServiceSettings) -> str:
        # The budget is per account: public calls share one, each API key has its own. Never the key itself.
        if settings.exchange_api_key is None:
            return "public"
        return hashlib.sha256(settings.exchange_api_key.get_secret_value().encode()).hexdigest()[:12]

    @property
    def account_id(self) -> str:
        """Names the exchange account (a hash of its API key) in Redis keys, never the key itself."""
        return self._account_id(self.settings)

    async def close(self) -> None:
        await self.exchange.close()

    # -- upstream calls ------------------------------------------------------------------------

    async def _call(self, endpoint: str, weight: float, fn: Callable[[], Awaitable[T]], *, retry: bool = True) -> T:
        """One logical exchange call: breaker, shared budget, retries on transient errors, metrics."""
        attempts = AsyncRetrying(
            stop=stop_after_attempt(1 + (self._retries if retry else 0)),
            wait=wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.1),
            retry=retry_if_exception(
                lambda e: isinstance(e, TransientExchangeError) and not isinstance(e, CircuitOpenError)
            ),
            reraise=True,
        )
        async for attempt in attempts:
            with attempt:
                return await self._call_once(endpoint, weight, fn)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call_once(self, endpoint: str, weight: float, fn: Callable[[], Awaitable[T]]) -> T:
        try:
            self.breaker.check()  # fail fast before spending any budget
            # The trial is claimed only once the budget is granted: a trial waiting in the limiter would
            # keep every other caller failing fast meanwhile.
            await self.limiter.acquire(weight)
            self.breaker.before_call()
        except CircuitOpenError:
            EXCHANGE_REQUESTS.labels(endpoint, "breaker_open").inc()
            raise
        judged = False  # the breaker hears how every call it let through went, or that it never went out
        try:
            started = time.perf_counter()
            async with self._concurrency:
                try:
                    result = await fn()
                except ccxt.BaseError as error:
                    EXCHANGE_REQUESTS.labels(endpoint, outcome_of(error)).inc()
                    mapped = map_error(error)
                    if isinstance(mapped, TransientExchangeError):
                        self.breaker.on_failure()
                    else:
                        self.breaker.on_success()  # the exchange answered: it is up
                    judged = True
                    raise mapped from error
                finally:
                    EXCHANGE_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
            self.breaker.on_success()
            judged = True
        finally:
            if not judged:  # refused by the rate limiter, cancelled, or an unexpected error
                self.breaker.abandon()
        EXCHANGE_REQUESTS.labels(endpoint, "ok").inc()
        return result

    async def _bounded(self, endpoint: str, weight: float, fn: Callable[[], Awaitable[T]]) -> T:
        """An uncached read: its caller waits at most the read deadline, then gets a clear error."""
        try:
            return await asyncio.wait_for(self._call(endpoint, weight, fn), self._read_deadline_s)
        except TimeoutError:
            DEADLINE_PASSED.inc()
            raise SlowExchangeError(
                f"{endpoint}: the exchange did not answer within {self._read_deadline_s:g} s"
            ) from None

    async def _cached(
        self,
        tier: Tier,
        key: str,
        fetch: Callable[[], Coroutine[Any, Any, Any]],
        *,
        kind: str,
        symbol: str | None = None,
        shape: Shape | None = None,
        refresh: Refresh | None = None,
        fresh_until: FreshUntil | None = None,
    ) -> Any:
        if not self.options.use_cache:
            return await fetch()
        called = False

        async def counted() -> Any:
            nonlocal called
            called = True
            return await fetch()

        async def counted_refresh(stale: Any, now: float) -> Any:
            nonlocal called
            called = True
            assert refresh is not None
            return await refresh(stale, now)

        # Past the read deadline the caller gets the stale copy (or a clear error) at once; the fetch goes
        # on holding the key's lock, and its late answer is stored for the next reader.
        try:
            value = await self.cache.get_or_fetch(
                tier,
                key,
                counted,
                symbol=symbol,
                shape=shape,
                wait_s=self._read_deadline_s,
                refresh=counted_refresh if refresh is not None else None,
                fresh_until=fresh_until,
            )
        except UpstreamSlow as slow:
            DEADLINE_PASSED.inc()
            raise SlowExchangeError(
                f"the exchange did not answer within {self._read_deadline_s:g} s (the call goes on in the background)"
            ) from slow
        if not called:
            _SAVED[kind].inc()
        return value

    # -- markets -------------------------------------------------------------------------------

    async def markets(self) -> dict[str, Any]:
        """The exchange's markets (ccxt structures), loaded once per process, shared through the cache."""
        if self.exchange.markets:
            return dict(self.exchange.markets)
        async with self._markets_lock:
            if not self.exchange.markets:
                raw = await self._cached(Tier.MARKET, "markets", self._load_markets, kind="markets")
                self.exchange.set_markets(list(raw.values()))
        return dict(self.exchange.markets)

    async def _load_markets(self) -> dict[str, Any]:
        loaded: dict[str, Any] = await self._call(
            "load_markets", PUBLIC_WEIGHT * 3, lambda: self.exchange.load_markets(True)
        )
        return {symbol: market for symbol, market in loaded.items() if market.get("swap")}

    async def symbols(self) -> list[str]:
        """Every active swap symbol, in ccxt's unified form (``BTC/USDT:USDT``)."""
        return sorted(s for s, m in (await self.markets()).items() if m.get("swap") and m.get("active", True))

    async def _check_symbol(self, symbol: str) -> None:
        markets = self.exchange.markets or await self.markets()  # no copy once loaded: this runs on every read
        if symbol not in markets:
            raise BadRequestError(f"unknown symbol {symbol!r}: use the unified form, e.g. BTC/USDT:USDT")

    # -- prices --------------------------------------------------------------------------------

    async def tickers(self) -> dict[str, Ticker]:
        """Every swap ticker. Optimised: one batched call, cached. Baseline: one call per symbol."""
        symbols = await self.symbols()
        if not self.options.batch_tickers:
            rows = await asyncio.gather(*(self._fetch_ticker(s) for s in symbols), return_exceptions=True)
            return {t.symbol: t for t in rows if isinstance(t, Ticker)}
        rows = await self._cached(Tier.PRICE, "tickers:all", self._fetch_all_tickers, kind="tickers")
        return {row[0]: Ticker.from_row(row) for row in rows}

    async def _fetch_all_tickers(self) -> list[list[Any]]:
        raw = await self._call(
            "fetch_tickers", PUBLIC_WEIGHT, lambda: self.exchange.fetch_tickers(None, {"type": "swap"})
        )
        return [Ticker.from_ccxt(t).to_row() for t in raw.values()]

    async def _fetch_ticker(self, symbol: str) -> Ticker:
        raw = await self._call("fetch_ticker", PUBLIC_WEIGHT, lambda: self.exchange.fetch_ticker(symbol))
        return Ticker.from_ccxt(raw)

    async def ticker(self, symbol: str) -> Ticker:
        await self._check_symbol(symbol)
        if not self.options.batch_tickers:
            return await self._fetch_ticker(symbol)
        found = (await self.tickers()).get(symbol)
        if found is None:
            raise BadRequestError(f"no ticker for {symbol!r}")
        return found

    async def prices(self, symbols: Sequence[str]) -> dict[str, float]:
        """Last price per symbol (symbols without a price are left out)."""
        if not self.options.batch_tickers:
            tickers = await asyncio.gather(*(self.ticker(s) for s in symbols), return_exceptions=True)
            return {t.symbol: t.last for t in tickers if isinstance(t, Ticker) and t.last}
        all_tickers = await self.tickers()
        return {s: t.last for s in symbols if (t := all_tickers.get(s)) is not None and t.last}

    # -- candles and books -----------------------------------------------------------------------

    @staticmethod
    def validate_ohlcv(timeframe: str, limit: int) -> None:
        if timeframe not in TIMEFRAMES:
            raise BadRequestError(f"bad timeframe {timeframe!r}: use one of {', '.join(TIMEFRAMES)}")
        if not 1 <= limit <= MAX_OHLCV_LIMIT:
            raise BadRequestError(f"limit {limit} out of range 1..{MAX_OHLCV_LIMIT}")

    async def ohlcv(self, symbol: str, timeframe: str, limit: int) -> Candles:
        """The last ``limit`` candles, oldest first, as compact rows [ts, o, h, l, c, v].

        Optimised, one cached series per (symbol, timeframe) serves every limit up to its window; it stays
        fresh until its candle in progress closes (plus a grace), and is then brought up to date with
        only the candles since, merged into the stale copy.
        """
        cached = self.cached_ohlcv(symbol, timeframe, limit)
        if cached is not None:
            return cached
        self.validate_ohlcv(timeframe, limit)
        await self._check_symbol(symbol)
        if not self.options.use_cache:
            return await self._fetch_ohlcv(symbol, timeframe, limit=limit)
        window = max(limit, OHLCV_WINDOW)
        step_ms = TIMEFRAME_MS[timeframe]

        async def fetch() -> Candles:
            return await self._fetch_ohlcv(symbol, timeframe, limit=window)

        async def refresh(stale: list[list[float]], now: float) -> Sequence[Sequence[float]]:
            return await self._candles_since(symbol, timeframe, window, stale, now)

        def fresh_until(rows: Sequence[Sequence[float]], now: float) -> float:
            return candle_close(rows, step_ms, now) + self._candle_grace_s

        candles: Candles = await self._cached(
            Tier.OHLCV,
            f"{timeframe}:{window}",
            fetch,
            kind="ohlcv",
            symbol=symbol,
            shape=frozen_rows,
            refresh=refresh,
            fresh_until=fresh_until,
        )
        return candles[-limit:]

    def cached_ohlcv(self, symbol: str, timeframe: str, limit: int) -> Candles | None:
        """The candles when this process's L1 holds them fresh, else None: no await, nothing upstream.

        The hot path of :meth:`ohlcv`, and of callers that read several timeframes and gather only what
        this misses (a task per read costs more than the read).
        """
        if not self.options.use_cache or symbol not in (self.exchange.markets or ()):
            return None
        self.validate_ohlcv(timeframe, limit)
        candles: Candles | None = self.cache.cached(
            Tier.OHLCV, f"{timeframe}:{max(limit, OHLCV_WINDOW)}", symbol=symbol
        )
        if candles is None:
            return None
        _SAVED["ohlcv"].inc()
        return candles[-limit:]

    async def _fetch_ohlcv(self, symbol: str, timeframe: str, *, limit: int, since: int | None = None) -> Candles:
        rows = await self._call(
            "fetch_ohlcv", PUBLIC_WEIGHT, lambda: self.exchange.fetch_ohlcv(symbol, timeframe, since, limit)
        )
        return candle_rows(rows)

    async def _candles_since(
        self, symbol: str, timeframe: str, window: int, stale: list[list[float]], now: float
    ) -> Sequence[Sequence[float]]:
        """The stale series brought up to date with one call for the candles from its last one on."""
        step_ms = TIMEFRAME_MS[timeframe]
        last_open = int(stale[-1][0]) if stale else None
        # The candle that was in progress, those that opened since, and one more for clocks apart.
        missing = window if last_open is None else max(2, int((now * 1000 - last_open) // step_ms) + 2)
        if last_open is not None and missing < window:
            new = await self._fetch_ohlcv(symbol, timeframe, limit=missing, since=last_open)
            merged = merge_candles(stale, new, window)
            if merged is not None:
                return merged
        return await self._fetch_ohlcv(symbol, timeframe, limit=window)  # too far behind, or a gap: all again

    async def ohlcv_many(self, symbols: Sequence[str], timeframe: str, limit: int) -> dict[str, Candles]:
        """Candles for many symbols; concurrency bounded by the gateway's semaphore and the budget."""
        self.validate_ohlcv(timeframe, limit)
        results = await asyncio.gather(*(self.ohlcv(s, timeframe, limit) for s in symbols), return_exceptions=True)
        return {s: r for s, r in zip(symbols, results, strict=True) if not isinstance(r, BaseException)}

    async def order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        await self._check_symbol(symbol)
        if not 1 <= limit <= 1000:
            raise BadRequestError(f"order book limit {limit} out of range 1..1000")

        async def fetch() -> dict[str, Any]:
            raw = await self._call(
                "fetch_order_book", PUBLIC_WEIGHT, lambda: self.exchange.fetch_order_book(symbol, limit)
            )
            return {"bids": raw["bids"][:limit], "asks": raw["asks"][:limit], "timestamp": raw.get("timestamp")}

        book = await self._cached(Tier.MARKET, f"book:{limit}", fetch, kind="order_book", symbol=symbol)
        return OrderBook(symbol, book["bids"], book["asks"], book["timestamp"])

    # -- what the exchange accepts, and prices fresh enough to trade on ---------------------------

    async def market_rules(self, symbol: str) -> MarketRules:
        """Quantity step and minimums for ``symbol``, from the market listing (cached with the markets)."""
        market = (await self.markets()).get(symbol)
        if market is None:
            raise BadRequestError(f"unknown symbol {symbol!r}: use the unified form, e.g. BTC/USDT:USDT")
        limits = market.get("limits") or {}
        return MarketRules(
            amount_step=float((market.get("precision") or {}).get("amount") or 0.0),
            price_step=float((market.get("precision") or {}).get("price") or 0.0),
            min_quantity=float((limits.get("amount") or {}).get("min") or 0.0),
            min_notional=float((limits.get("cost") or {}).get("min") or 0.0),
        )

    async def fresh_prices(self, symbols: Sequence[str], max_age_s: float) -> dict[str, Quote]:
        """Last prices no older than ``max_age_s``: read past the price tier (whose copy may be up to its TTL
        old) with one batched call when the cached sweep is too old. Age is measured on our clock, from the
        read; each quote also carries the exchange's time (market time, which a simulator may move)."""
        entry = await self.cache.peek(Tier.PRICE, "tickers:all") if self.options.use_cache else None
        if entry is not None and time.time() - entry.fetched_at <= max_age_s:
            rows, fetched_at = entry.value, entry.fetched_at  # the scan's sweep is young enough
        else:

            async def sweep() -> dict[str, Any]:
                swept = await self._fetch_all_tickers()
                if self.options.use_cache:
                    await self.cache.put(Tier.PRICE, "tickers:all", swept)  # the scan's readers get it too
                return {"at": time.time(), "rows": swept}

            # One sweep per freshness window for every caller of every process (the cache's single-flight).
            fresh = await self._cached(
                Tier.PRICE,
                f"tickers:fresh:{int(max_age_s * 1000)}",
                sweep,
                kind="tickers",
                fresh_until=lambda value, _now: float(value["at"]) + max_age_s,
            )
            rows, fetched_at = fresh["rows"], float(fresh["at"])
        wanted = set(symbols)
        prices: dict[str, Quote] = {}
        for row in rows:
            ticker = Ticker.from_row(row)
            if ticker.symbol in wanted and ticker.last:
                exchange_ms = ticker.timestamp or int(fetched_at * 1000)
                prices[ticker.symbol] = Quote(ticker.last, fetched_at, exchange_ms)
        return prices

    async def funding_rate(self, symbol: str) -> dict[str, Any]:
        """The current funding rate and the next funding time (market tier)."""
        await self._check_symbol(symbol)

        async def fetch() -> dict[str, Any]:
            raw = await self._call(
                "fetch_funding_rate", PUBLIC_WEIGHT, lambda: self.exchange.fetch_funding_rate(symbol)
            )
            return {"rate": raw["fundingRate"], "next_ms": raw["fundingTimestamp"], "mark": raw["markPrice"]}

        rate: dict[str, Any] = await self._cached(Tier.MARKET, "funding", fetch, kind="funding", symbol=symbol)
        return rate

    async def funding_rate_history(self, symbol: str, since_ms: int, until_ms: int) -> list[tuple[int, float]]:
        """``(time, rate)`` of every funding between the two times (paper funding); not cached."""
        await self._check_symbol(symbol)
        rows = await self._bounded(
            "fetch_funding_rate_history",
            PUBLIC_WEIGHT,
            lambda: self.exchange.fetch_funding_rate_history(symbol, since_ms, 100, {"until": until_ms}),
        )
        return [(int(r["timestamp"]), float(r["fundingRate"])) for r in rows if since_ms <= r["timestamp"] <= until_ms]

    async def ohlcv_since(self, symbol: str, timeframe: str, since_ms: int, until_ms: int, limit: int) -> Candles:
        """Up to ``limit`` candles opening in ``[since_ms, until_ms]``, oldest first: one page of history for
        downloads (``tradepipe download``), so not cached; the budget, breaker and retries as every call."""
        self.validate_ohlcv(timeframe, limit)
        await self._check_symbol(symbol)
        rows = await self._bounded(
            "fetch_ohlcv",
            PUBLIC_WEIGHT,
            lambda: self.exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit, {"endTime": until_ms}),
        )
        return candle_rows(r for r in rows if since_ms <= r[0] <= until_ms)

    async def server_time_ms(self) -> int:
        """The exchange's clock: downloads keep only candles closed by then (a simulator's clock may be moved)."""
        return int(await self._bounded("fetch_time", PUBLIC_WEIGHT, self.exchange.fetch_time))
