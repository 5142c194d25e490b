"""ia1 with a model: the rules compute every figure, the model gives its reading of them.

The model sees the indicators, levels, patterns and per-timeframe signals the rules computed (so it
never has to do arithmetic on raw candles) and answers a signal, a confidence, a rationale and a
setup label, validated against ``LlmReading``. Any failure keeps the rule-based analysis, with the
reason in ``fallback_reason``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import Opportunity, Signal
from shared.llm import LlmFailure, StructuredLlm, load_prompt
from shared.llm.structured import fallback

PROMPT = load_prompt(Path(__file__).parent / "prompts" / "analysis.v1.md")


class LlmReading(BaseModel):
    model_config = ConfigDict(extra="ignore")

    signal: Signal
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)
    rationale: str = Field(min_length=1, max_length=2000)
    setup: str = Field(default="", max_length=64, pattern=r"^[a-z0-9_]*$")


class LlmAnalyst:
    def __init__(self, llm: StructuredLlm) -> None:
        self.llm = llm

    async def review(self, opportunity: Opportunity, technical: dict[str, Any]) -> dict[str, Any]:
        """The rules' analysis fields, with the model's reading in place, or the reason it has none."""
        context = {
            "market": {
                "symbol": opportunity.symbol,
                "price": opportunity.price,
                "change_pct_24h": opportunity.change_pct_24h,
                "quote_volume_24h": opportunity.quote_volume_24h,
                "volatility_pct": opportunity.volatility_pct,
                "spread_bps": opportunity.spread_bps,
            },
            "rules": {k: technical.get(k) for k in ("signal", "confidence", "setup", "rationale")},
            "indicators": technical.get("indicators", {}),
            "support": technical.get("support"),
            "resistance": technical.get("resistance"),
            "patterns": technical.get("patterns", []),
            "timeframes": technical.get("timeframes", {}),
        }
        try:
            reading = await self.llm.ask(PROMPT, context, LlmReading)
        except LlmFailure as failure:
            return {**technical, "analyst": "rules", "fallback_reason": fallback("ia1", failure)}
        setup = reading.setup or (f"llm_{reading.signal}" if reading.signal != "neutral" else "")
        confidence = reading.confidence if reading.signal != "neutral" else 0.0
        return {
            **technical,
            "signal": reading.signal,
            "confidence": confidence,
            "rationale": reading.rationale,
            "setup": setup,
            "analyst": "llm",
            "fallback_reason": None,
        }
