"""ia2 with a model: the model proposes, the risk manager still decides.

The rules go first: what they reject (neutral signal, no volatility figure) stays rejected, so the
model can only pass on a trade or shape one. Its proposal (size, stop, target) then goes through the
very same risk limits as the rules' own: it may make a decision more conservative, never larger than
the limits allow. Any failure decides by the rules, with the reason among the decision's reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.ia2.risk import Proposal
from services.ia2.strategist import Strategist, rejection, rule_proposal
from shared.contracts import Analysis, Decision
from shared.llm import LlmFailure, StructuredLlm, load_prompt
from shared.llm.structured import fallback
from shared.trading_state import Snapshot

PROMPT = load_prompt(Path(__file__).parent / "prompts" / "decision.v1.md")
MAX_POSITIONS_SHOWN = 20
ANALYSIS_FIELDS = {
    "symbol", "signal", "confidence", "price", "atr", "support", "resistance",
    "patterns", "timeframes", "rationale", "setup", "indicators",
}  # fmt: skip


class LlmProposal(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["open", "reject"]
    quantity: float = Field(ge=0, allow_inf_nan=False)
    stop_loss: float = Field(ge=0, allow_inf_nan=False)
    take_profit: float = Field(ge=0, allow_inf_nan=False)
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)
    reasons: list[str] = Field(min_length=1, max_length=5)


class LlmStrategist:
    def __init__(self, llm: StructuredLlm, strategist: Strategist) -> None:
        self.llm = llm
        self.strategist = strategist

    async def decide(self, analysis: Analysis) -> Decision:
        rules = self.strategist
        snapshot = await rules.state.snapshot()
        required = await rules.adaptive.required(analysis.setup)
        reference = rule_proposal(analysis, snapshot, rules.manager, required)
        if isinstance(reference, str):
            return rejection(analysis, required, [reference])
        try:
            answer = await self.llm.ask(PROMPT, _context(analysis, reference, snapshot), LlmProposal)
            proposal = _proposal(answer, reference)
        except LlmFailure as failure:
            decision = await rules.decide(analysis)
            return decision.model_copy(update={"reasons": [*decision.reasons, fallback("ia2", failure)][:20]})
        if proposal is None:
            reasons = [f"llm: {r}"[:300] for r in answer.reasons]
            return rejection(analysis, required, reasons).model_copy(update={"strategist": "llm"})
        return await rules.decide(analysis, proposal)


def _proposal(answer: LlmProposal, reference: Proposal) -> Proposal | None:
    """The model's trade in the analysis' direction, or None when it passes; LlmFailure when incoherent."""
    if answer.action == "reject":
        return None
    entry = reference.entry
    long = reference.side == "long"
    if answer.quantity <= 0:
        raise LlmFailure("invalid_output", "open with no quantity")
    if not (answer.stop_loss < entry < answer.take_profit if long else answer.take_profit < entry < answer.stop_loss):
        raise LlmFailure("invalid_output", f"stop {answer.stop_loss} / target {answer.take_profit} around {entry}")
    return Proposal(
        symbol=reference.symbol,
        side=reference.side,
        quantity=answer.quantity,
        entry=entry,
        stop_loss=answer.stop_loss,
        take_profit=answer.take_profit,
        confidence=answer.confidence,
        required_confidence=reference.required_confidence,
        author="llm",
        reasons=tuple(f"llm: {r}"[:300] for r in answer.reasons),
    )


def _context(analysis: Analysis, reference: Proposal, snapshot: Snapshot) -> dict[str, object]:
    positions = list(snapshot.positions.values())[:MAX_POSITIONS_SHOWN]
    return {
        "analysis": analysis.model_dump(mode="json", include=ANALYSIS_FIELDS),
        "rule_proposal": {
            "side": reference.side,
            "quantity": reference.quantity,
            "entry": reference.entry,
            "stop_loss": reference.stop_loss,
            "take_profit": reference.take_profit,
            "required_confidence": reference.required_confidence,
        },
        "account": {"equity": snapshot.equity, "open_positions": len(snapshot.positions)},
        "positions": [
            {"symbol": p.symbol, "side": p.side, "quantity": p.quantity, "entry": p.entry_price} for p in positions
        ],
    }
