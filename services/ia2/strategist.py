"""ia2's decision: a rule-based proposal from the analysis, then the risk manager, then a Decision.

The decision's id derives from the analysis id, so the same analysis always yields the same decision
(and so the same client order id downstream).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from services.ia2.adaptive import AdaptiveConfidence
from services.ia2.correlation import correlations
from services.ia2.risk import Context, Proposal, RiskManager, Verdict
from services.ia2.sizing import size_position
from services.ia2.state import TradingState
from shared.contracts import Analysis, Decision, Signal
from shared.errors import TradepipeError
from shared.messages import derived_message_id
from shared.trading_state import Snapshot

ClosesFor = Callable[[str], Awaitable[Sequence[float] | None]]

log = logging.getLogger(__name__)


def decision_id(analysis: Analysis) -> str:
    return derived_message_id(analysis.message_id, "ia2")


def decision_for(analysis: Analysis, required: float, reasons: Sequence[str], **trade: object) -> Decision:
    """The one builder of ia2's decisions: a rejection, or (with ``trade``'s fields) a trade to open."""
    return Decision.model_validate(
        {
            "message_id": decision_id(analysis),
            "analysis_id": analysis.message_id,
            "opportunity_id": analysis.opportunity_id,
            "symbol": analysis.symbol,
            "action": "open" if trade else "reject",
            "entry_price": analysis.price,
            "confidence": analysis.confidence,
            "required_confidence": required,
            "signal_kind": analysis.setup,
            "reasons": list(reasons),
            "opportunity_created_at": analysis.opportunity_created_at,
            **trade,
        }
    )


def rejection(analysis: Analysis, required: float, reasons: Sequence[str]) -> Decision:
    return decision_for(analysis, required, reasons)


class Signalled(Protocol):
    """What the rules read from an analysis (an :class:`~shared.contracts.Analysis` is one)."""

    @property
    def symbol(self) -> str: ...
    @property
    def signal(self) -> Signal: ...
    @property
    def confidence(self) -> float: ...
    @property
    def price(self) -> float: ...
    @property
    def atr(self) -> float: ...
    @property
    def setup(self) -> str: ...
    @property
    def rationale(self) -> str: ...


def rule_proposal(analysis: Signalled, snapshot: Snapshot, manager: RiskManager, required: float) -> Proposal | str:
    """The rule-based strategist: trade the analyst's signal, sized from volatility; or why not."""
    if analysis.signal == "neutral":
        return "rejected: neutral signal, nothing to trade"
    sized = size_position(
        analysis.signal, equity=snapshot.equity, entry=analysis.price, atr=analysis.atr, config=manager.config
    )
    if sized is None:
        return "rejected: no volatility figure (ATR) to size the position from"
    first_line = analysis.rationale.split(". ")[0].rstrip(".")
    config = manager.config
    return Proposal(
        symbol=analysis.symbol,
        side=analysis.signal,
        quantity=sized.quantity,
        entry=analysis.price,
        stop_loss=sized.stop_loss,
        take_profit=sized.take_profit,
        confidence=analysis.confidence,
        required_confidence=required,
        reasons=(
            f"{analysis.signal} signal from ia1: {first_line}",
            f"risk {config.risk_per_trade:.1%} of equity with a stop {config.atr_stop_multiple:g} ATR away",
        ),
    )


class Strategist:
    def __init__(
        self, state: TradingState, manager: RiskManager, adaptive: AdaptiveConfidence, closes_for: ClosesFor
    ) -> None:
        self.state = state
        self.manager = manager
        self.adaptive = adaptive
        self._closes_for = closes_for

    async def decide(self, analysis: Analysis, proposal: Proposal | None = None) -> Decision:
        """Decide on ``analysis``; a proposal from elsewhere (an LLM) goes through the same limits."""
        outcome, required = await self.verdict(analysis, proposal)
        if isinstance(outcome, str):
            return rejection(analysis, required, [outcome])
        return self._decision(analysis, outcome, required)

    async def verdict(self, analysis: Signalled, proposal: Proposal | None = None) -> tuple[Verdict | str, float]:
        """The risk manager's verdict (or why nothing was proposed) and the confidence required: everything
        :meth:`decide` decides, before a Decision is built. Latches the halt when a limit is reached."""
        snapshot = await self.state.snapshot()
        required = await self.adaptive.required(analysis.setup)
        if proposal is None:
            made = rule_proposal(analysis, snapshot, self.manager, required)
            if isinstance(made, str):
                return made, required
            proposal = made
        context = Context(snapshot, await self._correlations(analysis.symbol, snapshot))
        verdict = self.manager.evaluate(proposal, context)
        if verdict.halt:
            await self.state.latch_halt(verdict.halt)
        return verdict, required

    async def _correlations(self, symbol: str, snapshot: Snapshot) -> dict[str, float]:
        others = [s for s in snapshot.positions if s != symbol]
        if not others:
            return {}
        mine = await self._closes_or_none(symbol)
        if mine is None:
            return {}
        # One after the other: these series are read on every decision, so they are L1 hits that
        # never suspend, and a task per open position (gather) cost more than the reads themselves.
        series = {other: closes for other in others if (closes := await self._closes_or_none(other)) is not None}
        return correlations(mine, series)

    async def _closes_or_none(self, symbol: str) -> Sequence[float] | None:
        try:
            return await self._closes_for(symbol)
        except TradepipeError as error:  # exchange or cache failure: no figure, the rule decides without it
            log.info("no closes for correlation", extra={"symbol": symbol, "error": str(error)})
            return None

    def _decision(self, analysis: Analysis, verdict: Verdict, required: float) -> Decision:
        approved = verdict.approved
        if approved is None:
            return rejection(analysis, required, verdict.reasons)
        return decision_for(
            analysis,
            required,
            [*verdict.reasons, f"approved by the risk manager: {approved.quantity:.6g} at {approved.entry:.6g}"],
            side=approved.side,
            quantity=approved.quantity,
            entry_price=approved.entry,
            stop_loss=approved.stop_loss,
            take_profit=approved.take_profit,
            risk_amount=abs(approved.entry - approved.stop_loss) * approved.quantity,
            confidence=approved.confidence,
            strategist=approved.author,
        )
