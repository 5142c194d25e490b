"""A deterministic synthetic market: every price is a pure function of (seed, symbol, minute).

The log price of a symbol is its base price moved by a market factor it shares with the others
(scaled by its beta), its own slower and faster cycles (long cycles read as trends, short ones as
ranges), occasional hour-long spikes, and minute noise. Because nothing is stored, any time range can
be computed on demand, and everything agrees: within a minute the price follows a continuous path
through that minute's open, low, high and close (:meth:`SyntheticMarket.knots`), so the price at any
millisecond, the 1-minute candles, the candles of longer intervals that aggregate them
(``history.py``) and the ticker's last price all tell the same story. The path is the mark price
the account engine evaluates orders, liquidations and funding against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MINUTE_MS = 60_000
LEG_MS = 20_000  # the path has a knot every 20 s: open, first extreme, second extreme, close
INTERVAL_MINUTES = {
    "1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240, "6h": 360,
    "12h": 720, "1d": 1440, "3d": 4320, "1w": 10080, "1M": 43200,
}  # fmt: skip
KNOWN = [
    ("BTC", 60_000.0), ("ETH", 3_000.0), ("SOL", 150.0), ("BNB", 550.0), ("XRP", 0.6), ("DOGE", 0.15),
    ("ADA", 0.45), ("AVAX", 35.0), ("LINK", 15.0), ("DOT", 7.0), ("TRX", 0.12), ("MATIC", 0.7),
    ("LTC", 80.0), ("ATOM", 9.0), ("NEAR", 5.0), ("APT", 9.0), ("ARB", 1.1), ("OP", 2.2),
    ("FIL", 5.5), ("INJ", 25.0),
]  # fmt: skip
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a fast, well-spread integer hash (wrapping uint64 arithmetic)."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x & _MASK


def uniform(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """Deterministic uniforms in [0, 1) for (seed, stream, index)."""
    with np.errstate(over="ignore"):
        key = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(stream) * np.uint64(0xD1B54A32D192ED03)
        x = _mix(index.astype(np.uint64) + key)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@dataclass(frozen=True)
class SymbolSpec:
    index: int
    base: str
    base_price: float
    beta: float
    volatility: float  # scale of the log-price moves
    spread_bps: float
    volume_per_minute: float  # in base units
    price_decimals: int
    quantity_decimals: int

    @property
    def exchange_id(self) -> str:
        return f"{self.base}-USDT"


def _decimals_for(price: float) -> int:
    return max(1, min(8, 4 - math.floor(math.log10(price))))


def make_symbols(seed: int, count: int) -> list[SymbolSpec]:
    specs = []
    draws = uniform(seed, 1, np.arange(count * 8)).reshape(count, 8)
    for i in range(count):
        u = draws[i]
        if i < len(KNOWN):
            base, price = KNOWN[i]
        else:
            base, price = f"SYM{i:03d}", float(10 ** (u[0] * 5 - 2))  # 0.01 .. 1000
        price_decimals = _decimals_for(price)
        notional_per_minute = 10 ** (3 + u[1] * 3)  # $1k .. $1M per minute
        specs.append(
            SymbolSpec(
                index=i,
                base=base,
                base_price=price,
                beta=0.5 + u[2],
                volatility=0.02 + u[3] * 0.06,
                spread_bps=1.0 + u[4] * 12,
                volume_per_minute=notional_per_minute / price,
                price_decimals=price_decimals,
                quantity_decimals=max(0, min(6, 6 - price_decimals + 2)),
            )
        )
    return specs


# Market factor cycles (minutes) and amplitudes: weekly, daily, a few hours, an hour.
_FACTOR = ((10_080.0, 1.0), (1_440.0, 0.6), (240.0, 0.3), (60.0, 0.15))
_OWN = ((4_320.0, 0.9), (720.0, 0.5), (90.0, 0.25), (20.0, 0.1))


class SyntheticMarket:
    def __init__(self, seed: int, symbol_count: int) -> None:
        self.seed = seed
        self.symbols = make_symbols(seed, symbol_count)
        self.by_id = {s.exchange_id: s for s in self.symbols}
        phases = uniform(seed, 2, np.arange(len(_FACTOR) + symbol_count * len(_OWN))) * 2 * math.pi
        self._factor_phases = phases[: len(_FACTOR)]
        self._own_phases = phases[len(_FACTOR) :].reshape(symbol_count, len(_OWN)) if symbol_count else phases[:0]

    # -- prices ------------------------------------------------------------------------------

    def log_moves(self, spec: SymbolSpec, minutes: np.ndarray) -> np.ndarray:
        m = minutes.astype(np.float64)
        factor = sum(
            a * np.sin(2 * math.pi * m / p + ph) for (p, a), ph in zip(_FACTOR, self._factor_phases, strict=True)
        )
        own = sum(
            a * np.sin(2 * math.pi * m / p + ph) for (p, a), ph in zip(_OWN, self._own_phases[spec.index], strict=True)
        )
        hour = (minutes // 60).astype(np.int64)
        spike_on = uniform(self.seed, 1000 + spec.index, hour) < 0.015
        spike_sign = np.where(uniform(self.seed, 2000 + spec.index, hour) < 0.5, -1.0, 1.0)
        spike = spike_on * spike_sign * 1.5 * np.sin(math.pi * (minutes % 60) / 60)
        noise = (uniform(self.seed, 3000 + spec.index, minutes.astype(np.int64)) - 0.5) * 0.08
        moves: np.ndarray = spec.volatility * (spec.beta * factor + own + spike + noise)
        return moves

    def prices_at(self, spec: SymbolSpec, minutes: np.ndarray) -> np.ndarray:
        """Price at the start of each minute."""
        return np.asarray(spec.base_price * np.exp(self.log_moves(spec, minutes)), dtype=np.float64)

    def knots(self, spec: SymbolSpec, first: int, count: int) -> np.ndarray:
        """The price path of ``count`` minutes from minute ``first`` (see :meth:`knots_at`)."""
        return self.knots_at(spec, np.arange(first, first + count, dtype=np.int64))

    def knots_at(self, spec: SymbolSpec, minutes: np.ndarray) -> np.ndarray:
        """The price path of the given minutes: rows of four prices at 0, 20, 40 and
        60 s into each minute. An up minute goes open -> low -> high -> close, a down minute open ->
        high -> low -> close; between knots the price moves geometrically (monotone). So the path is
        continuous, touches each 1-minute candle's high and low, and its close is the next minute's open."""
        opens, highs, lows, closes = self._ohlc(spec, minutes)
        up = closes >= opens
        return np.column_stack([opens, np.where(up, lows, highs), np.where(up, highs, lows), closes])

    def _ohlc(self, spec: SymbolSpec, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Open, high, low and close of complete minutes: the wick stretches past the open and close."""
        opens = self.prices_at(spec, minutes)
        closes = self.prices_at(spec, minutes + 1)
        wick = 1 + uniform(self.seed, 4000 + spec.index, minutes) * spec.volatility * 0.02
        return opens, np.maximum(opens, closes) * wick, np.minimum(opens, closes) / wick, closes

    def price_now(self, spec: SymbolSpec, now_ms: int) -> float:
        """The price on the path at ``now_ms`` (the mark price; the last trade price too)."""
        knots = self.knots(spec, now_ms // MINUTE_MS, 1)[0]
        return path_price(knots, now_ms % MINUTE_MS)

    # -- candles -------------------------------------------------------------------------------

    def minute_candles(self, spec: SymbolSpec, first: int, count: int, now_ms: int, stride: int = 1) -> np.ndarray:
        """Rows [open, high, low, close, volume] for every ``stride``-th minute from ``first`` over ``count``
        minutes; the current minute is partial (its path so far) and later ones are left out."""
        starts = np.arange(first, first + count, stride, dtype=np.int64)
        starts = starts[starts <= now_ms // MINUTE_MS]
        if len(starts) == 0:
            return np.empty((0, 5))
        opens, highs, lows, closes = self._ohlc(spec, starts)
        activity = 0.5 + uniform(self.seed, 5000 + spec.index, starts) + np.abs(np.log(closes / opens)) * 200
        volumes = spec.volume_per_minute * activity
        in_progress = starts == now_ms // MINUTE_MS
        if in_progress.any():  # the path so far: its open, the knots it has passed, the price now
            offset = now_ms % MINUTE_MS
            knots = self.knots(spec, now_ms // MINUTE_MS, 1)[0]
            reached = knots[: 1 + offset // LEG_MS]
            last = path_price(knots, offset)
            closes[in_progress] = last
            highs[in_progress] = max(float(reached.max()), last)
            lows[in_progress] = min(float(reached.min()), last)
            volumes[in_progress] *= offset / MINUTE_MS
        return np.column_stack([opens, highs, lows, closes, volumes])

    def tickers(self, now_ms: int) -> dict[str, dict[str, float | int]]:
        """Every symbol's 24h ticker; computed once per second (all-tickers is polled often)."""
        return _tickers_at(self, now_ms // 1000 * 1000)

    def ticker(self, spec: SymbolSpec, now_ms: int) -> dict[str, float | int]:
        day = _day_stats(self, spec.index, now_ms // MINUTE_MS)
        last = self.price_now(spec, now_ms)
        partial = self.minute_candles(spec, now_ms // MINUTE_MS, 1, now_ms)[0]
        high, low = max(day[1], partial[1], last), min(day[2], partial[2], last)
        volume = day[3] + partial[4]
        half_spread = last * spec.spread_bps / 20_000
        return {
            "open": day[0],
            "high": high,
            "low": low,
            "last": last,
            "volume": volume,
            "quote_volume": volume * (high + low + last) / 3,
            "bid": last - half_spread,
            "ask": last + half_spread,
            "close_time": now_ms,
        }

    def order_book(
        self, spec: SymbolSpec, depth: int, now_ms: int
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        last = self.price_now(spec, now_ms)
        tick = 10**-spec.price_decimals
        half_spread = max(tick, last * spec.spread_bps / 20_000)
        sizes = 0.2 + uniform(self.seed, 6000 + spec.index, np.arange(depth * 2) + now_ms // 1000)
        level_qty = spec.volume_per_minute * 0.05
        bids = [(last - half_spread - i * tick * 5, float(level_qty * sizes[i])) for i in range(depth)]
        asks = [(last + half_spread + i * tick * 5, float(level_qty * sizes[depth + i])) for i in range(depth)]
        return bids, asks


@lru_cache(maxsize=4096)
def _day_stats(market: SyntheticMarket, index: int, minute: int) -> tuple[float, float, float, float]:
    """(open, high, low, volume) of the 1440 complete minutes before ``minute``; cached per minute."""
    spec = market.symbols[index]
    rows = market.minute_candles(spec, minute - 1440, 1440, minute * MINUTE_MS)
    return float(rows[0, 0]), float(rows[:, 1].max()), float(rows[:, 2].min()), float(rows[:, 4].sum())


@lru_cache(maxsize=4)
def _tickers_at(market: SyntheticMarket, now_ms: int) -> dict[str, dict[str, float | int]]:
    return {spec.exchange_id: market.ticker(spec, now_ms) for spec in market.symbols}


def path_price(knots: np.ndarray, offset_ms: float) -> float:
    """The price ``offset_ms`` into a minute whose four knots are ``knots`` (geometric between knots)."""
    leg = min(int(offset_ms // LEG_MS), 2)
    frac = (offset_ms - leg * LEG_MS) / LEG_MS
    start, end = float(knots[leg]), float(knots[leg + 1])
    return float(start * (end / start) ** frac)
