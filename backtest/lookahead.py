"""``tradepipe lookahead``: does any indicator, pattern or rule read the future?

The backtest runs on the whole range, then again on the data cut at several times. Everything computed
for a candle that closed before a cut must be the same in both runs: every per-candle series a decision
reads (indicators, readings, patterns, scout's view; ``SymbolFeatures.inspected``) and every decision and
trade made before the cut. A series that differs names the indicator or rule that peeks, with the first
candle where it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backtest.data import load
from backtest.engine import Engine, Result
from backtest.features import SymbolFeatures
from backtest.history import Store
from backtest.report import iso, trade_row
from backtest.run import plan_for
from backtest.settings import BacktestSettings


@dataclass(frozen=True)
class Peek:
    name: str  # e.g. "indicator rsi", "pattern breakout_up", "scout consistency"
    symbol: str
    first_ms: int  # the close of the first candle whose value changed when later candles were cut


@dataclass
class Findings:
    cuts: list[int]
    compared_values: int = 0
    compared_decisions: int = 0
    peeks: list[Peek] = field(default_factory=list)
    changed_decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.peeks and not self.changed_decisions

    def lines(self) -> list[str]:
        cuts = ", ".join(iso(c) for c in self.cuts)
        out = [f"cut at {cuts}: {self.compared_values:,} values and {self.compared_decisions:,} decisions compared"]
        names = sorted({p.name for p in self.peeks})
        for name in names:
            first = min((p for p in self.peeks if p.name == name), key=lambda p: p.first_ms)
            out.append(f"PEEKS: {name} (first on {first.symbol} at {iso(first.first_ms)})")
        for change in self.changed_decisions[:10]:
            out.append(f"CHANGED: {change}")
        out.append("passed: nothing before a cut depends on what comes after it" if self.passed else "FAILED")
        return out


def _events(result: Result, before_ms: int) -> list[dict[str, Any]]:
    decisions = [d for d in result.decisions if d["time"] < before_ms]
    trades = [trade_row(t) | {"kind": "trade"} for t in result.trades if t.exit_time < before_ms]
    return decisions + trades


def compare_features(full: SymbolFeatures, cut: SymbolFeatures, cut_ms: int, findings: Findings) -> None:
    closed = int(np.searchsorted(full.close_ms, cut_ms, side="right"))  # candles closed by the cut
    theirs = cut.inspected()
    for name, values in full.inspected().items():
        mine, other = values[:closed], theirs.get(name, np.empty(0))[:closed]
        findings.compared_values += len(mine)
        if len(mine) != len(other):
            findings.peeks.append(Peek(name, full.symbol, int(full.close_ms[min(len(other), closed - 1)])))
            continue
        differs = ~((mine == other) | (np.isnan(mine) & np.isnan(other)))
        if differs.any():
            findings.peeks.append(Peek(name, full.symbol, int(full.close_ms[int(np.flatnonzero(differs)[0])])))


def check(
    settings: BacktestSettings,
    store: Store,
    symbols: Sequence[str],
    timeframe: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    cuts: int = 5,
    workers: int | None = None,
) -> Findings:
    plan = plan_for(settings, timeframe)
    full = {
        item.features.symbol: item.features
        for item in load(store, symbols, plan, settings, start_ms, end_ms, workers=workers)
    }
    engine = Engine(settings, list(full.values()), plan)
    result = asyncio.run(engine.run())
    grid = np.unique(np.concatenate([f.close_ms for f in full.values()]))
    points = sorted({int(grid[int(i)]) for i in np.linspace(len(grid) * 0.3, len(grid) - 2, cuts)})
    findings = Findings(points)
    for cut_ms in points:
        loaded = load(store, symbols, plan, settings, start_ms, cut_ms, workers=workers)
        for item in loaded:
            compare_features(full[item.features.symbol], item.features, cut_ms, findings)
        cut_result = asyncio.run(Engine(settings, [item.features for item in loaded], plan).run())
        before, after = _events(result, cut_ms), _events(cut_result, cut_ms)
        findings.compared_decisions += len(before)
        if before != after:
            findings.changed_decisions.extend(
                [{"cut": iso(cut_ms), "full": a, "cut_run": b} for a, b in zip(before, after, strict=False) if a != b][
                    :3
                ]
                or [{"cut": iso(cut_ms), "full_count": len(before), "cut_count": len(after)}]
            )
    return findings
