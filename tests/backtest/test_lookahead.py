"""tradepipe lookahead: the pipeline passes, and a rule that reads the next candle is caught and named."""

from __future__ import annotations

import numpy as np
import pytest

from backtest.history import Store
from backtest.lookahead import check
from backtest.settings import BacktestSettings
from services.ia1 import patterns
from services.ia1.indicators import Frame

Sample = tuple[Store, list[str]]


def test_the_pipeline_reads_nothing_ahead(sample: Sample) -> None:
    store, symbols = sample
    findings = check(BacktestSettings(), store, symbols, "1h", cuts=4, workers=1)
    assert findings.passed, findings.lines()
    assert findings.compared_values > 100_000 and findings.compared_decisions > 0


def test_a_rule_that_peeks_at_the_next_candle_is_caught(sample: Sample, monkeypatch: pytest.MonkeyPatch) -> None:
    def next_close_higher(f: Frame) -> np.ndarray:  # the deliberate bug: tomorrow's close, known today
        return np.append(f.close[1:] > f.close[:-1], False)

    monkeypatch.setitem(patterns.PATTERNS, "next_close_higher", (next_close_higher, 1))
    store, symbols = sample
    findings = check(BacktestSettings(), store, symbols, "1h", cuts=3, workers=1)
    assert not findings.passed
    named = {peek.name for peek in findings.peeks}
    assert "pattern next_close_higher" in named
    assert "ia1 score" in named  # what it feeds is reported too
    assert not any(name.startswith("indicator") for name in named)  # the honest ones are not blamed
    assert any("PEEKS: pattern next_close_higher" in line for line in findings.lines())
