"""scout's filters and scoring on hand-made tickers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.scout.filters import (
    MaxSpreadFilter,
    MinVolumeFilter,
    QuoteCurrencyFilter,
    SaneQuoteFilter,
    default_filters,
    spread_bps,
)
from services.scout.scoring import refine_with_candles, score_tickers, trend_consistency


@dataclass(frozen=True)
class T:
    symbol: str = "BTC/USDT:USDT"
    last: float | None = 100.0
    bid: float | None = 99.99
    ask: float | None = 100.01
    high: float | None = 105.0
    low: float | None = 95.0
    quote_volume: float | None = 5e7
    change_pct: float | None = 2.0


def test_spread_in_basis_points() -> None:
    assert spread_bps(T()) == pytest.approx(2.0)
    assert spread_bps(T(bid=None)) is None
    assert spread_bps(T(bid=101, ask=100)) is None  # crossed book


@pytest.mark.parametrize(
    ("ticker", "filter_", "reason"),
    [
        (T(last=float("nan")), SaneQuoteFilter(), "no valid price"),
        (T(last=0.0), SaneQuoteFilter(), "no valid price"),
        (T(ask=None), SaneQuoteFilter(), "no valid bid/ask"),
        (T(symbol="BTC/USDC:USDC"), QuoteCurrencyFilter("USDT"), "not quoted in USDT"),
        (T(quote_volume=10.0), MinVolumeFilter(1e6), "24h volume 10 below 1,000,000"),
        (T(bid=99, ask=101), MaxSpreadFilter(20), "spread 200.0 bps above 20.0"),
    ],
)
def test_filters_say_why_they_drop(ticker: T, filter_: object, reason: str) -> None:
    assert filter_.reject(ticker) == reason  # type: ignore[attr-defined]
    assert filter_.reject(T()) is None  # type: ignore[attr-defined]


def test_default_filters_are_all_named() -> None:
    names = [f.name for f in default_filters(quote="USDT", min_quote_volume=1, max_spread_bps=10)]
    assert names == ["sane_quote", "quote_currency", "min_volume", "max_spread"]


def test_scores_favour_liquid_moving_volatile_tight_markets() -> None:
    best = T(symbol="A/USDT:USDT", quote_volume=1e9, change_pct=9.0, high=120, low=90)
    worst = T(symbol="B/USDT:USDT", quote_volume=1e6, change_pct=0.1, high=100.5, low=99.5, bid=99.9, ask=100.1)
    middle = T(symbol="C/USDT:USDT", quote_volume=5e7, change_pct=-3.0)
    ranked = score_tickers([worst, middle, best])
    assert [s.ticker.symbol for s in ranked] == ["A/USDT:USDT", "C/USDT:USDT", "B/USDT:USDT"]
    assert ranked[0].score > ranked[1].score > ranked[2].score
    assert any("24h change +9.00%" in r for r in ranked[0].reasons)
    assert ranked[0].volatility_pct == pytest.approx(30.0)


def test_scoring_is_deterministic_and_handles_one_market() -> None:
    assert score_tickers([]) == []
    [only] = score_tickers([T()])
    again = score_tickers([T()])[0]
    assert only.score == again.score


def test_trend_consistency_and_refinement() -> None:
    assert trend_consistency([1, 2, 3, 4, 5]) == 1.0
    assert trend_consistency([1, 3, 2, 4, 3, 5]) == pytest.approx(0.6)
    assert trend_consistency([1, 1, 1]) == 0.0
    [candidate] = score_tickers([T()])
    steady = refine_with_candles(candidate, [1, 2, 3, 4, 5])
    choppy = refine_with_candles(candidate, [1, 3, 1, 3, 1])
    assert steady.score == pytest.approx(candidate.score + 0.1)
    assert choppy.score < candidate.score
    assert "recent trend consistency 100%" in steady.reasons[-1]
