"""The backtest loop: the pipeline's own decisions on a simulated clock.

At each close of the primary timeframe (a decision time), in order:
1. open positions live through the data's candles up to now: funding at each funding time, liquidation,
   stop-loss / take-profit inside the candle (``shared/perps.py``, the stop first when both are touched);
2. the account is marked (equity peak, the day's start) and execution's protection latches the halt when
   the daily-loss or drawdown limit is reached (and flattens if ``HALT_FLATTEN``);
3. scout's ranking publishes its best symbols; for each, ia1's analysis at that candle (the rows computed
   once by ``features.py``), ia2's strategist and risk manager (``Strategist.decide`` with this book as its
   state), execution's checks (``plan_entry``), and a fill at the next candle's open.
A decision at a close reads only candles closed by then; it fills at the next price.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backtest.book import Book, ClosedTrade
from backtest.features import Plan, SymbolFeatures, frame_of
from backtest.history import timeframe_ms
from backtest.positions import Positions
from backtest.scan import Ranking, rank_market
from backtest.settings import BacktestSettings
from backtest.state import BookState, MemoryOutcomes, Reading, Rows
from services.execution.checks import Plan as OrderPlan
from services.execution.checks import halt_refusal, plan_entry
from services.ia1.analyst import SIGNALS, RuleAnalyst, signal_kind
from services.ia1.indicators import last_row
from services.ia2.adaptive import AdaptiveConfidence
from services.ia2.risk import RiskManager
from services.ia2.strategist import Strategist
from shared.contracts import Analysis, Decision, Opportunity
from shared.gateway.models import MarketRules

Decide = Callable[[Analysis], Awaitable[Decision]]
Review = Callable[[Opportunity, Analysis], Awaitable[Analysis]]


@dataclass
class Result:
    settings: BacktestSettings
    plan: Plan
    symbols: list[str]
    trades: list[ClosedTrade]
    equity: list[tuple[int, float]]  # (time, equity) at every decision time
    exposure: list[float]  # notional open at every decision time
    decisions: list[dict[str, Any]]  # every open decision and every refusal after ia2 approved
    halts: list[tuple[int, str]]
    counts: dict[str, int] = field(default_factory=dict)
    start_equity: float = 0.0
    end_equity: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    closes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # symbol -> (times, closes)
    llm: dict[str, dict[str, int]] | None = None  # per desk: questions asked, answered from the cache


def _ident(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:24]


class Engine:
    def __init__(self, settings: BacktestSettings, features: Sequence[SymbolFeatures], plan: Plan) -> None:
        self.settings = settings
        self.features = list(features)
        self.index = {f.symbol: i for i, f in enumerate(self.features)}
        self.rows = {f.symbol: Rows.of(f) for f in self.features}
        self.plan = plan
        self.book = Book(
            settings.paper_start_balance,
            settings.paper_fee_rate,
            settings.paper_slippage_bps,
            settings.trading_leverage,
            settings.trading_margin_mode,
        )
        self.state = BookState(self.book)
        self.outcomes = MemoryOutcomes()
        self.strategist = Strategist(
            self.state,
            RiskManager(settings.risk_config()),
            AdaptiveConfidence(self.outcomes, base=settings.risk_min_confidence),
            self._closes_for,
        )
        self.decide: Decide = self.strategist.decide
        self.review: Review | None = None  # an LLM analyst, when on
        self.fast = True  # rules only: the verdict first, messages only for approvals (backtest/llm.py unsets it)
        self.analyst = RuleAnalyst(settings.analyst_config(plan.analysis))
        self.limits = settings.limits()
        self.rules = MarketRules(amount_step=settings.backtest_amount_step, min_notional=settings.backtest_min_notional)
        self.now = 0
        self.positions = Positions(
            self.book, self.features, self.outcomes, step_ms=timeframe_ms(plan.data), fee_rate=settings.paper_fee_rate
        )
        self.counts = dict.fromkeys(
            ("published", "neutral", "rejected", "analysed", "approved", "refused", "filled"), 0
        )
        self.decisions: list[dict[str, Any]] = []

    async def _closes_for(self, symbol: str) -> Sequence[float] | None:
        candles = self.features[self.index[symbol]].correlation
        end = int(np.searchsorted(candles.ts + timeframe_ms(self.plan.correlation), self.now, side="right"))
        closes: Sequence[float] = candles.close[max(0, end - 101) : end].tolist()
        return closes

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> Result:
        ranking = rank_market(self.features, self.settings, self.settings.backtest_spread_bps)
        equity: list[tuple[int, float]] = []
        exposure: list[float] = []
        last_published: dict[int, int] = {}
        cooldown_ms = int(self.settings.scout_republish_after_s * 1000)
        for g, now in enumerate(ranking.grid.tolist()):
            self.now = self.state.now = now
            self.positions.live_through(now)
            self.state.cached = None
            equity.append((now, round(self.book.mark(now), 8)))
            exposure.append(self.book.exposure())
            self._protect(now)
            published = 0
            for s in ranking.order[g].tolist():
                if s < 0 or published >= self.settings.scout_top_n:
                    break
                if cooldown_ms and now - last_published.get(s, -cooldown_ms) < cooldown_ms:
                    continue
                last_published[s] = now
                published += 1
                await self._consider(ranking, g, s, published)
        self.positions.close_all(self.now, "end_of_data")
        final = self.book.mark(self.now)
        return Result(
            settings=self.settings,
            plan=self.plan,
            symbols=[f.symbol for f in self.features],
            trades=self.book.trades,
            equity=[*equity[:-1], (self.now, round(final, 8))] if equity else [],
            exposure=exposure,
            decisions=self.decisions,
            halts=self.book.halts,
            counts=self.counts,
            start_equity=self.book.start_balance,
            end_equity=final,
            fees=self.book.fees,
            funding=self.book.funding,
            closes={f.symbol: (f.primary.ts, f.primary.close) for f in self.features},
        )

    async def _consider(self, ranking: Ranking, g: int, s: int, rank: int) -> None:
        self.counts["published"] += 1
        f = self.features[s]
        row = int(ranking.rows[g, s])
        if self.fast:
            # The rules' verdict first, on the analysis' figures (the same values the Analysis would carry);
            # the messages are built only for what the risk manager approves, then decided again in full.
            outcome, _ = await self.strategist.verdict(self._reading(f, row))
            if isinstance(outcome, str) or outcome.approved is None:
                self.counts["neutral" if isinstance(outcome, str) and "neutral" in outcome else "rejected"] += 1
                return
        opportunity = self._opportunity(ranking, g, s, rank)
        analysis = self._analysis(f, row, opportunity)
        if self.review is not None:
            analysis = await self.review(opportunity, analysis)
        self.counts["analysed"] += 1
        decision = await self.decide(analysis)
        if decision.action != "open":
            self.counts["rejected"] += 1
            return
        self.counts["approved"] += 1
        self._enter(decision, f)

    def _reading(self, f: SymbolFeatures, row: int) -> Reading:
        signal = SIGNALS[int(f.combined.signal[row])]
        atr = float(f.values["atr"][row])
        adx = float(f.values["adx"][row])
        figures = {"reversion": float(f.readings.reversion[row])} | (
            {"adx": round(adx, 10)} if math.isfinite(adx) else {}
        )
        patterns = [name for name, hits in f.patterns.items() if hits[row]]
        return Reading(
            symbol=f.symbol,
            signal=signal,
            confidence=round(float(f.combined.confidence[row]), 6),
            price=float(f.primary.close[row]),
            atr=round(atr, 10) if math.isfinite(atr) else 0.0,
            setup=signal_kind(signal, figures, patterns),
        )

    def _opportunity(self, ranking: Ranking, g: int, s: int, rank: int) -> Opportunity:
        factors, markets = ranking.factors, ranking.markets
        return Opportunity(
            message_id=_ident("opportunity", self.features[s].symbol, self.now),
            created_at=self.now / 1000,
            scan_id=_ident("scan", self.now)[:12],
            symbol=self.features[s].symbol,
            rank=rank,
            score=float(ranking.score[g, s]),
            price=float(markets.last[g, s]),
            change_pct_24h=float(markets.change_pct[g, s]),
            quote_volume_24h=float(markets.quote_volume[g, s]),
            volatility_pct=float(factors.volatility[g, s]),
            spread_bps=float(factors.spread[g, s]),
        )

    def _analysis(self, f: SymbolFeatures, row: int, opportunity: Opportunity) -> Analysis:
        start = max(0, row - self.settings.ia1_candles + 1)
        window = frame_of(f.primary.between(int(f.primary.ts[start]), int(f.primary.ts[row]) + 1))
        patterns = [name for name, hits in f.patterns.items() if hits[row]]
        main = last_row(f.values, row)
        analysis = self.analyst.assemble(
            opportunity, window, main, f.readings, f.combined, row, patterns, levels=not self.fast
        )
        return analysis.model_copy(update={"message_id": _ident("analysis", opportunity.message_id)})

    def _enter(self, decision: Decision, f: SymbolFeatures) -> None:
        following = int(np.searchsorted(f.base.ts, self.now, side="left"))
        price = float(f.base.open[following]) if following < len(f.base) else None
        snapshot = self.book.snapshot()
        planned = plan_entry(decision, snapshot, price, self.rules, self.limits, decision.created_at)
        record = {
            "time": self.now,
            "symbol": decision.symbol,
            "side": decision.side,
            "quantity": decision.quantity,
            "stop_loss": decision.stop_loss,
            "take_profit": decision.take_profit,
            "confidence": decision.confidence,
        }
        if not isinstance(planned, OrderPlan):
            self.counts["refused"] += 1
            self.decisions.append(record | {"outcome": f"refused: {planned.reason}"})
            return
        assert decision.side is not None
        self.counts["filled"] += 1
        self.decisions.append(record | {"outcome": "filled", "filled_quantity": planned.quantity})
        self.book.open(f.symbol, planned, self.now, signal_kind=decision.signal_kind, decision_id=decision.message_id)
        self.positions.opened(f.symbol, following)
        self.state.cached = None

    def _protect(self, now: int) -> None:
        """execution's protection loop: latch the halt at the limits, flatten if set to."""
        reset_ms = self.settings.backtest_halt_reset_hours * 3_600_000
        if self.book.halt_reason and reset_ms and now - self.book.halted_at_ms >= reset_ms:
            self.book.halt_reason = None  # the operator's reset (POST /risk/halt/reset live)
        if self.book.halt_reason:
            return
        snapshot = self.book.snapshot()
        self.state.cached = snapshot
        why = halt_refusal(snapshot, self.limits)
        if why is None:
            return
        self.book.latch(now, why)
        self.state.cached = None
        if self.settings.halt_flatten:
            self.positions.close_all(now, f"halt: {why}")
