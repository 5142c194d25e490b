"""The rule-based technical analyst: a transparent score from indicators on several timeframes.

Per timeframe, three readings in [-1, 1]:
- trend: EMA 12 against EMA 26, scaled by ADX strength (ADX 40 = full strength);
- momentum: RSI's distance from 50, and the MACD histogram's sign and direction;
- reversion: where the price sits in its Bollinger band, counted only in a weak trend (ADX < 20).
They combine into the timeframe's score; timeframes combine with the primary one weighing most, and
chart patterns on the primary timeframe vote on top. The sign of the total gives the signal (inside
the neutral band: neutral); confidence grows with the score and with how many timeframes agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from services.ia1.indicators import Frame, Rows, last_row, profile_values, series
from services.ia1.levels import support_resistance
from services.ia1.patterns import detect_all, votes
from shared.contracts import Analysis, Opportunity, Signal
from shared.errors import BadRequestError


@dataclass(frozen=True)
class AnalystConfig:
    primary: str = "1h"
    timeframes: tuple[str, ...] = ("15m", "1h", "4h")
    primary_weight: float = 0.5
    neutral_band: float = 0.15
    pattern_vote: float = 0.08
    weights: dict[str, float] = field(default_factory=lambda: {"trend": 0.5, "momentum": 0.35, "reversion": 0.15})


@dataclass(frozen=True)
class Reading:
    trend: float
    momentum: float
    reversion: float
    score: float


@dataclass(frozen=True)
class Readings:
    """One timeframe's readings at every candle (arrays of the same length)."""

    trend: np.ndarray
    momentum: np.ndarray
    reversion: np.ndarray
    score: np.ndarray


SIGNALS: dict[int, Signal] = {1: "long", -1: "short", 0: "neutral"}


def _clip(value: float) -> float:
    return float(np.clip(value, -1.0, 1.0))


def _column(ind: Mapping[str, np.ndarray], name: str, default: float, size: int) -> np.ndarray:
    """An indicator's values with ``default`` where it is not computed (absent, or still warming up)."""
    values = ind.get(name)
    if values is None:
        return np.full(size, default)
    return np.where(np.isfinite(values), values, default)


def read_arrays(ind: Mapping[str, np.ndarray], config: AnalystConfig) -> Readings:
    """Trend, momentum and reversion (each in [-1, 1]) and their weighted score, at every candle."""
    size = len(ind["close"])
    adx = _column(ind, "adx", 0.0, size)
    strength = np.minimum(1.0, adx / 40)
    fast, slow = _column(ind, "ema_fast", np.nan, size), _column(ind, "ema_slow", np.nan, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        has_trend = np.isfinite(fast) & np.isfinite(slow) & (slow > 0)
        gap = np.where(has_trend, (fast - slow) / slow, 0.0)
    trend = np.where(has_trend, np.clip(np.sign(gap) * strength + gap * 20, -1.0, 1.0), 0.0)
    rsi_part = (_column(ind, "rsi", 50.0, size) - 50) / 50
    hist, prev = _column(ind, "macd_hist", 0.0, size), _column(ind, "macd_hist_prev", 0.0, size)
    macd_part = 0.5 * np.sign(hist) + 0.5 * np.sign(hist - prev)
    momentum = np.clip(0.6 * rsi_part + 0.4 * macd_part, -1.0, 1.0)
    upper, lower = _column(ind, "bb_upper", np.nan, size), _column(ind, "bb_lower", np.nan, size)
    with np.errstate(invalid="ignore", divide="ignore"):
        ranging = (adx < 20) & np.isfinite(upper) & np.isfinite(lower) & (upper > lower)
        position = np.where(ranging, (ind["close"] - lower) / (upper - lower), 0.5)  # 0 lower band, 1 upper
    reversion = np.where(ranging, np.clip((0.5 - position) * 2, -1.0, 1.0), 0.0)
    w = config.weights
    score = w["trend"] * trend + w["momentum"] * momentum + w["reversion"] * reversion
    return Readings(trend, momentum, reversion, score)


def read_timeframe(ind: dict[str, float], config: AnalystConfig) -> Reading:
    """The readings of one candle's indicators (live: the last candle)."""
    r = read_arrays({k: np.array([v]) for k, v in ind.items()}, config)
    return Reading(float(r.trend[0]), float(r.momentum[0]), float(r.reversion[0]), float(r.score[0]))


def _signal_codes(score: np.ndarray, band: float) -> np.ndarray:
    return np.where(score > band, 1, np.where(score < -band, -1, 0)).astype(np.int8)


@dataclass(frozen=True)
class Combined:
    """The timeframes' scores and the patterns' votes combined, at every candle of the primary timeframe."""

    score: np.ndarray
    signal: np.ndarray  # 1 long, -1 short, 0 neutral
    per_tf: dict[str, np.ndarray]  # each timeframe's own signal code
    agreement: np.ndarray  # share of timeframes agreeing with the signal
    confidence: np.ndarray


def combine(scores: Mapping[str, np.ndarray], pattern_votes: np.ndarray, config: AnalystConfig) -> Combined:
    """``scores``: each timeframe's score aligned on the primary timeframe's candles."""
    others = [tf for tf in scores if tf != config.primary]
    other_weight = (1 - config.primary_weight) / len(others) if others else 0.0
    score = scores[config.primary] * (config.primary_weight if others else 1.0)
    score = score + sum(scores[tf] * other_weight for tf in others)
    score = np.clip(score + config.pattern_vote * pattern_votes, -1.0, 1.0)
    signal = _signal_codes(score, config.neutral_band)
    per_tf = {tf: _signal_codes(s, config.neutral_band) for tf, s in scores.items()}
    agreement = sum((codes == signal).astype(np.float64) for codes in per_tf.values()) / len(per_tf)
    confidence = np.where(signal != 0, np.clip(np.abs(score) * 1.4 * (0.5 + 0.5 * agreement), 0.0, 1.0), 0.0)
    return Combined(score, signal, per_tf, agreement, confidence)


def _signal(score: float, band: float) -> Signal:
    return "long" if score > band else "short" if score < -band else "neutral"


def signal_kind(signal: Signal, indicators: dict[str, float], patterns: list[str]) -> str:
    """A short label of the setup (bounded set) that ia2 keys adaptive confidence on."""
    if signal == "neutral":
        return "neutral"
    if any(p.startswith("breakout") for p in patterns):
        setup = "breakout"
    elif indicators.get("adx", 0.0) >= 25:
        setup = "trend"
    elif abs(indicators.get("reversion", 0.0)) >= 0.3:
        setup = "reversion"
    else:
        setup = "momentum"
    return f"{setup}_{signal}"


def candles_fingerprint(candles: Mapping[str, Rows]) -> str:
    """Same candles, same fingerprint: the key under which an analysis is cached."""
    parts = [
        f"{tf}:{len(rows)}:{rows[-1][0] if rows else 0}:{rows[-1][4] if rows else 0}"
        for tf, rows in sorted(candles.items())
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


class RuleAnalyst:
    name = "rules"

    def __init__(self, config: AnalystConfig | None = None) -> None:
        self.config = config or AnalystConfig()

    def analyse(self, opportunity: Opportunity, candles: Mapping[str, Rows]) -> Analysis:
        cfg = self.config
        if cfg.primary not in candles:
            raise BadRequestError(f"candles for the primary timeframe {cfg.primary} are missing")
        frames = {tf: Frame.from_rows(rows, tf) for tf, rows in candles.items() if tf in cfg.timeframes}
        values = {tf: series(frame) for tf, frame in frames.items()}
        readings = {tf: read_arrays({k: v[-1:] for k, v in ind.items()}, cfg) for tf, ind in values.items()}
        primary = frames[cfg.primary]
        found = {name: hits[-1:] for name, hits in detect_all(primary).items()}
        combined = combine({tf: r.score for tf, r in readings.items()}, votes(found), cfg)
        main = last_row(values[cfg.primary])
        patterns = [name for name, hits in found.items() if hits[0]]
        return self.assemble(opportunity, primary, main, readings[cfg.primary], combined, 0, patterns)

    def assemble(
        self,
        opportunity: Opportunity,
        window: Frame,
        main: dict[str, float],
        primary: Readings,
        combined: Combined,
        row: int,
        patterns: list[str],
        *,
        levels: bool = True,
    ) -> Analysis:
        """The analysis at ``row`` of the readings; ``window``: the primary candles up to that row (levels and
        the volume profile are read from it), ``main``: the primary timeframe's indicators at that row.
        ``levels=False`` leaves out support, resistance and the volume profile: figures for readers (and a
        model), which no rule reads; a rule-based backtest skips them for speed."""
        main = main | profile_values(window) if levels else main
        score = float(combined.score[row])
        signal = SIGNALS[int(combined.signal[row])]
        per_tf: dict[str, Signal] = {tf: SIGNALS[int(codes[row])] for tf, codes in combined.per_tf.items()}
        support, resistance = support_resistance(window) if levels else (None, None)
        flat = {k: v for k, v in main.items() if k != "close"}
        flat |= {"score": round(score, 6), "trend": float(primary.trend[row]), "momentum": float(primary.momentum[row])}
        flat["reversion"] = float(primary.reversion[row])
        return Analysis(
            opportunity_id=opportunity.message_id,
            opportunity_created_at=opportunity.created_at,
            symbol=opportunity.symbol,
            signal=signal,
            confidence=round(float(combined.confidence[row]), 6),
            price=float(window.close[-1]),
            atr=main.get("atr", 0.0),
            indicators=flat,
            support=support,
            resistance=resistance,
            patterns=patterns,
            setup=signal_kind(signal, flat, patterns),
            timeframes=per_tf,
            rationale=self._rationale(signal, score, main, per_tf, patterns, float(combined.agreement[row])),
        )

    def _rationale(
        self,
        signal: Signal,
        score: float,
        ind: dict[str, float],
        per_tf: dict[str, Signal],
        patterns: list[str],
        agreement: float,
    ) -> str:
        parts = [f"{signal.upper()} (score {score:+.2f}) on {self.config.primary}."]
        if "ema_fast" in ind and "ema_slow" in ind:
            relation = "above" if ind["ema_fast"] > ind["ema_slow"] else "below"
            fast, slow, adx = ind["ema_fast"], ind["ema_slow"], ind.get("adx", 0.0)
            parts.append(f"EMA12 {fast:.6g} is {relation} EMA26 {slow:.6g} with ADX {adx:.1f}.")
        if "rsi" in ind:
            parts.append(f"RSI {ind['rsi']:.1f}, MACD histogram {ind.get('macd_hist', 0):+.4g}.")
        if "bb_width_pct" in ind:
            parts.append(f"Bollinger width {ind['bb_width_pct']:.2f}%.")
        frames = ", ".join(f"{tf} {s}" for tf, s in per_tf.items())
        parts.append(f"Timeframes: {frames} ({agreement:.0%} agree).")
        if patterns:
            parts.append("Patterns: " + ", ".join(patterns) + ".")
        return " ".join(parts)
