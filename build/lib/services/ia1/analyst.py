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

from services.ia1.indicators import Frame, Rows, compute
from services.ia1.levels import support_resistance
from services.ia1.patterns import detect
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


def _clip(value: float) -> float:
    return float(np.clip(value, -1.0, 1.0))


def read_timeframe(ind: dict[str, float], config: AnalystConfig) -> Reading:
    adx = ind.get("adx", 0.0)
    strength = min(1.0, adx / 40)
    trend = 0.0
    if "ema_fast" in ind and "ema_slow" in ind and ind["ema_slow"] > 0:
        gap = (ind["ema_fast"] - ind["ema_slow"]) / ind["ema_slow"]
        trend = _clip(np.sign(gap) * strength + gap * 20)
    rsi_part = (ind.get("rsi", 50.0) - 50) / 50
    hist, prev = ind.get("macd_hist", 0.0), ind.get("macd_hist_prev", 0.0)
    macd_part = 0.5 * np.sign(hist) + 0.5 * np.sign(hist - prev)
    momentum = _clip(0.6 * rsi_part + 0.4 * macd_part)
    reversion = 0.0
    upper, lower = ind.get("bb_upper"), ind.get("bb_lower")
    if adx < 20 and upper is not None and lower is not None and upper > lower:
        position = (ind["close"] - lower) / (upper - lower)  # 0 at the lower band, 1 at the upper
        reversion = _clip((0.5 - position) * 2)
    w = config.weights
    score = w["trend"] * trend + w["momentum"] * momentum + w["reversion"] * reversion
    return Reading(trend, momentum, reversion, score)


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
        indicators = {tf: compute(frame) for tf, frame in frames.items()}
        readings = {tf: read_timeframe(ind, cfg) for tf, ind in indicators.items()}
        others = [tf for tf in readings if tf != cfg.primary]
        other_weight = (1 - cfg.primary_weight) / len(others) if others else 0.0
        score = readings[cfg.primary].score * (cfg.primary_weight if others else 1.0)
        score += sum(readings[tf].score * other_weight for tf in others)
        primary = frames[cfg.primary]
        patterns = detect(primary)
        score = _clip(score + cfg.pattern_vote * sum(vote for _, vote in patterns))
        signal = _signal(score, cfg.neutral_band)
        per_tf: dict[str, Signal] = {tf: _signal(r.score, cfg.neutral_band) for tf, r in readings.items()}
        agreement = sum(1 for s in per_tf.values() if s == signal) / len(per_tf)
        confidence = (
            float(np.clip(abs(score) * 1.4 * (0.5 + 0.5 * agreement), 0.0, 1.0)) if signal != "neutral" else 0.0
        )
        main = indicators[cfg.primary]
        support, resistance = support_resistance(primary)
        flat = {k: v for k, v in main.items() if k != "close"}
        flat |= {
            "score": round(score, 6),
            "trend": readings[cfg.primary].trend,
            "momentum": readings[cfg.primary].momentum,
        }
        flat["reversion"] = readings[cfg.primary].reversion
        return Analysis(
            opportunity_id=opportunity.message_id,
            opportunity_created_at=opportunity.created_at,
            symbol=opportunity.symbol,
            signal=signal,
            confidence=round(confidence, 6),
            price=float(primary.close[-1]),
            atr=main.get("atr", 0.0),
            indicators=flat,
            support=support,
            resistance=resistance,
            patterns=[name for name, _ in patterns],
            setup=signal_kind(signal, flat, [name for name, _ in patterns]),
            timeframes=per_tf,
            rationale=self._rationale(signal, score, main, per_tf, patterns, agreement),
        )

    def _rationale(
        self,
        signal: Signal,
        score: float,
        ind: dict[str, float],
        per_tf: dict[str, Signal],
        patterns: list[tuple[str, int]],
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
            parts.append("Patterns: " + ", ".join(name for name, _ in patterns) + ".")
        return " ".join(parts)
