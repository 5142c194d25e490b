"""The messages the services pass along the pipeline: scout -> ia1 -> ia2 -> execution.

Each carries the id of the message it came from, so any trade can be traced back through its
decision, analysis and opportunity. Prices and sizes are finite and positive: a NaN, an infinity or
a negative value is refused at the model, so it is dead-lettered and can never reach a trade.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from shared.messages import StreamMessage

PositivePrice = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Symbol = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?$")]
Reasons = Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=50)]

Signal = Literal["long", "short", "neutral"]
Side = Literal["long", "short"]
Author = Literal["rules", "llm"]


class Opportunity(StreamMessage):
    """A market that scout ranked high enough to look at, and why."""

    TYPE: ClassVar[str] = "opportunity"
    VERSION: ClassVar[int] = 1

    scan_id: str = Field(min_length=1, max_length=64)
    symbol: Symbol
    rank: int = Field(ge=1)
    score: float = Field(allow_inf_nan=False)
    price: PositivePrice
    change_pct_24h: float = Field(allow_inf_nan=False)
    quote_volume_24h: NonNegative
    volatility_pct: NonNegative
    spread_bps: NonNegative
    reasons: Reasons = Field(default_factory=list)


class Analysis(StreamMessage):
    """ia1's reading of one opportunity: a signal, how sure, and the figures behind it."""

    TYPE: ClassVar[str] = "analysis"
    VERSION: ClassVar[int] = 1

    opportunity_id: str = Field(min_length=1, max_length=64)
    symbol: Symbol
    signal: Signal
    confidence: Unit
    price: PositivePrice
    atr: NonNegative
    indicators: dict[str, float] = Field(default_factory=dict, max_length=100)
    support: NonNegative | None = None
    resistance: NonNegative | None = None
    patterns: list[str] = Field(default_factory=list, max_length=20)
    timeframes: dict[str, Signal] = Field(default_factory=dict, max_length=14)
    rationale: str = Field(max_length=4000)
    setup: str = Field(default="", max_length=64, description="short label of the setup, e.g. trend_long")
    analyst: Author = "rules"
    fallback_reason: str | None = Field(default=None, max_length=500)
    opportunity_created_at: float = Field(default=0.0, ge=0)


class Decision(StreamMessage):
    """ia2's verdict on an analysis: a sized trade with its stops, or a rejection, always with reasons."""

    TYPE: ClassVar[str] = "decision"
    VERSION: ClassVar[int] = 1

    analysis_id: str = Field(min_length=1, max_length=64)
    opportunity_id: str = Field(min_length=1, max_length=64)
    symbol: Symbol
    action: Literal["open", "reject"]
    side: Side | None = None
    quantity: NonNegative = 0.0
    entry_price: PositivePrice
    stop_loss: NonNegative | None = None
    take_profit: NonNegative | None = None
    risk_amount: NonNegative = 0.0
    confidence: Unit
    required_confidence: Unit
    signal_kind: str = Field(default="", max_length=64)
    reasons: Reasons = Field(min_length=1)
    strategist: Author = "rules"
    opportunity_created_at: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _trade_is_complete(self) -> Decision:
        if self.action == "open":
            if self.side is None or self.quantity <= 0 or self.stop_loss is None or self.take_profit is None:
                raise ValueError("an open decision needs a side, a positive quantity, a stop-loss and a take-profit")
            below, above = (
                (self.stop_loss, self.take_profit) if self.side == "long" else (self.take_profit, self.stop_loss)
            )
            if not below < self.entry_price < above:
                raise ValueError("stop-loss and take-profit must be on either side of the entry price")
        return self


class Execution(StreamMessage):
    """What execution did: an order filled, refused, or a position closed by its stop or target."""

    TYPE: ClassVar[str] = "execution"
    VERSION: ClassVar[int] = 1

    decision_id: str = Field(min_length=1, max_length=64)
    client_order_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")
    symbol: Symbol
    kind: Literal["open", "close"]
    status: Literal["filled", "rejected"]
    mode: Literal["paper", "live"]
    side: Side
    quantity: NonNegative
    price: NonNegative
    fee: NonNegative = 0.0
    realized_pnl: float = Field(default=0.0, allow_inf_nan=False)
    reason: str = Field(default="", max_length=500)
    opportunity_created_at: float = Field(default=0.0, ge=0)
