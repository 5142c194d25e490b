"""ia1's analysis on constructed candle series."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ia1.analyst import RuleAnalyst, candles_fingerprint, signal_kind
from services.ia1.indicators import Frame, compute, volume_profile
from services.ia1.levels import support_resistance
from services.ia1.patterns import PATTERNS
from shared.contracts import Analysis, Opportunity
from shared.errors import BadRequestError

OPP = Opportunity(
    scan_id="s", symbol="BTC/USDT:USDT", rank=1, score=1.0, price=100.0,
    change_pct_24h=1.0, quote_volume_24h=1e6, volatility_pct=2.0, spread_bps=1.0,
)  # fmt: skip


def series(drift: float, n: int = 200, seed: int = 1, noise: float = 0.004) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(drift + rng.normal(0, noise, n)))
    return from_closes(close, volumes=rng.uniform(100, 200, n))


def from_closes(close: np.ndarray, volumes: np.ndarray | None = None) -> list[list[float]]:
    n = len(close)
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * 1.002
    low = np.minimum(open_, close) * 0.998
    volume = volumes if volumes is not None else np.full(n, 100.0)
    rows: list[list[float]] = np.column_stack([np.arange(n) * 60_000.0, open_, high, low, close, volume]).tolist()
    return rows


def frames(drift: float) -> dict[str, list[list[float]]]:
    return {tf: series(drift, seed=i) for i, tf in enumerate(("15m", "1h", "4h"))}


def test_uptrend_is_long_with_the_figures_in_the_rationale() -> None:
    analysis = RuleAnalyst().analyse(OPP, frames(0.003))
    assert analysis.signal == "long"
    assert analysis.confidence > 0.5
    assert "EMA12" in analysis.rationale and "ADX" in analysis.rationale
    assert analysis.timeframes == {"15m": "long", "1h": "long", "4h": "long"}
    assert analysis.opportunity_id == OPP.message_id
    assert analysis.setup.endswith("_long")
    assert signal_kind("neutral", {}, []) == "neutral"


def test_downtrend_is_short() -> None:
    analysis = RuleAnalyst().analyse(OPP, frames(-0.003))
    assert analysis.signal == "short"
    assert analysis.confidence > 0.5


def test_flat_range_has_little_conviction() -> None:
    rng = np.random.default_rng(3)
    ranging = 100 + 0.3 * np.sin(np.linspace(0, 30 * math.pi, 200)) + rng.normal(0, 0.02, 200)
    analysis = RuleAnalyst().analyse(OPP, dict.fromkeys(("15m", "1h", "4h"), from_closes(ranging)))
    assert analysis.signal == "neutral" or analysis.confidence < 0.5
    assert analysis.indicators["adx"] < 25


def test_indicators_match_independent_computations() -> None:
    rising = from_closes(np.linspace(100, 200, 120))
    values = compute(Frame.from_rows(rising, "1h"))
    assert values["rsi"] == pytest.approx(100.0)
    closes = np.array([row[4] for row in rising])
    assert values["bb_middle"] == pytest.approx(closes[-20:].mean())
    constant_range = [[i * 60_000.0, 100.0, 101.0, 99.0, 100.0, 10.0] for i in range(80)]
    assert compute(Frame.from_rows(constant_range, "1h"))["atr"] == pytest.approx(2.0)


def test_volume_profile_point_of_control() -> None:
    closes = np.r_[np.full(60, 100.0), np.linspace(100, 120, 60)]
    volumes = np.r_[np.full(60, 1000.0), np.full(60, 10.0)]
    poc, low, high = volume_profile(Frame.from_rows(from_closes(closes, volumes), "1h"))
    assert 99 < poc < 102
    assert low <= poc <= high


def test_support_below_and_resistance_above_the_price() -> None:
    wave = 100 + 5 * np.sin(np.linspace(0, 12 * math.pi, 200))
    frame = Frame.from_rows(from_closes(wave), "1h")
    support, resistance = support_resistance(frame)
    price = float(frame.close[-1])
    assert support is not None and resistance is not None
    assert support < price < resistance


def _frame_from(closes: list[float], opens: list[float] | None = None) -> Frame:
    base = np.full(60, 100.0) + np.sin(np.arange(60)) * 0.1
    close = np.r_[base, closes]
    rows = from_closes(close)
    if opens is not None:
        for i, o in enumerate(opens):
            rows[-len(opens) + i][1] = o
            rows[-len(opens) + i][2] = max(o, rows[-len(opens) + i][4]) * 1.001
            rows[-len(opens) + i][3] = min(o, rows[-len(opens) + i][4]) * 0.999
    return Frame.from_rows(rows, "1h")


@pytest.mark.parametrize(
    ("name", "present", "absent"),
    [
        ("breakout_up", _frame_from([100.0, 110.0]), _frame_from([100.0, 100.05])),
        ("breakout_down", _frame_from([100.0, 90.0]), _frame_from([100.0, 99.95])),
        (
            "bullish_engulfing",
            _frame_from([99.0, 101.5], opens=[100.0, 98.5]),
            _frame_from([99.0, 99.5], opens=[100.0, 99.2]),
        ),
        (
            "bearish_engulfing",
            _frame_from([101.0, 98.5], opens=[100.0, 101.5]),
            _frame_from([101.0, 100.5], opens=[100.0, 100.8]),
        ),
    ],
)
def test_pattern_detectors(name: str, present: Frame, absent: Frame) -> None:
    detector, _ = PATTERNS[name]
    assert detector(present)[-1]  # detectors answer at every candle; the last is the one live reads
    assert not detector(absent)[-1]


def test_double_top_and_bottom() -> None:
    top = np.r_[
        np.linspace(90, 110, 20), np.linspace(110, 100, 10), np.linspace(100, 110, 10), np.linspace(110, 95, 20)
    ]
    bottom = 200 - top
    assert PATTERNS["double_top"][0](Frame.from_rows(from_closes(top), "1h"))[-1]
    assert PATTERNS["double_bottom"][0](Frame.from_rows(from_closes(bottom), "1h"))[-1]
    assert not PATTERNS["double_top"][0](Frame.from_rows(from_closes(bottom), "1h"))[-1]


@pytest.mark.parametrize(
    ("candles", "message"),
    [
        ({"15m": series(0.001)}, "primary timeframe 1h"),
        ({"1h": series(0.001)[:20]}, "at least 50"),
        ({"1h": [[*row[:4], float("nan"), row[5]] for row in series(0.001)]}, "NaN or infinite"),
        ({"1h": [[*row[:4], -1.0, row[5]] for row in series(0.001)]}, "must be positive"),
        ({"1h": list(reversed(series(0.001)))}, "timestamps must increase"),
    ],
)
def test_bad_candles_get_a_clear_error(candles: dict[str, list[list[float]]], message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        RuleAnalyst().analyse(OPP, candles)


def test_fingerprint_changes_only_with_the_candles() -> None:
    candles = frames(0.001)
    assert candles_fingerprint(candles) == candles_fingerprint(frames(0.001))
    moved = {**candles, "1h": [*candles["1h"][1:], [candles["1h"][-1][0] + 60_000, 1, 1, 1, 1, 1]]}
    assert candles_fingerprint(moved) != candles_fingerprint(candles)


@settings(max_examples=40, deadline=None)
@given(
    drift=st.floats(-0.01, 0.01),
    noise=st.floats(0.0001, 0.05),
    seed=st.integers(0, 10_000),
    n=st.integers(50, 300),
)
def test_any_valid_series_yields_a_valid_analysis(drift: float, noise: float, seed: int, n: int) -> None:
    analysis = RuleAnalyst().analyse(
        OPP, {tf: series(drift, n=n, seed=seed + i, noise=noise) for i, tf in enumerate(("15m", "1h", "4h"))}
    )
    assert 0.0 <= analysis.confidence <= 1.0
    assert all(math.isfinite(v) for v in analysis.indicators.values())
    Analysis.model_validate(analysis.model_dump())
