"""The messages the services pass along the pipeline: scout -> ia1 -> ia2 -> execution, and the account
events beside it (``stream:events``: equity snapshots, halts, the kill switch, reconciliation, funding, alerts).

Each pipeline message carries the id of the message it came from, so any trade can be traced back through its
decision, analysis and opportunity. Prices and sizes are finite and positive: a NaN, an infinity or
a negative value is refused at the model, so it is dead-lettered and can never reach a trade.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.messages import StreamMessage

PositivePrice = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Symbol = Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?$")]
Reasons = Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=50)]

Signal = Literal["long", "short", "neutral"]
Side = Literal["long", "short"]
Author = Literal["rules", "llm"]
Mode = Literal["paper", "live"]
Finite = Annotated[float, Field(allow_inf_nan=False)]


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


EventKind = Literal[
    "equity",  # a snapshot of the account's figures (execution, every EQUITY_POINT_INTERVAL_S)
    "halt",  # new entries stopped by a risk limit (ia2) ...
    "halt_cleared",  # ... and an operator's reset
    "kill_switch",  # no new orders at all (operator, execution) ...
    "kill_switch_cleared",
    "reconciliation",  # the exchange and our books disagreed, and what was done about it
    "funding",  # a funding payment on an open perpetual position (signed: + received, - paid)
    "alert",  # a Prometheus alert, as Alertmanager routed it to the journal service
]
Severity = Literal["info", "warning", "critical"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class EquityFigures(_Part):
    equity: Finite
    cash: Finite
    unrealized_pnl: Finite = 0.0
    realized_pnl: Finite = 0.0
    fees: NonNegative = 0.0
    exposure: NonNegative = 0.0
    drawdown: Unit = 0.0
    open_positions: int = Field(0, ge=0)


class Discrepancy(_Part):
    """What reconciliation found: ``subject`` (position, balance, order...) differs between us and the exchange."""

    subject: str = Field(min_length=1, max_length=64, description="what differed: position, balance, order...")
    ours: Finite | None = Field(None, description="our figure")
    exchange: Finite | None = Field(None, description="the exchange's figure")
    resolution: str = Field(default="", max_length=500, description="what was done about it")


class AlertInfo(_Part):
    """A Prometheus alert, as Alertmanager routed it."""

    name: str = Field(min_length=1, max_length=200, description="the alert's name (alertname)")
    status: Literal["firing", "resolved"] = Field(description="firing or resolved")
    fingerprint: str = Field(min_length=1, max_length=64, description="Alertmanager's id of the alert")
    started_at: float = Field(ge=0, description="when it started firing, in seconds since the epoch")


class AccountEvent(StreamMessage):
    """Something that happened to the account that is not an order. ``kind`` says which of the typed parts
    is present: ``equity`` for "equity", ``discrepancy`` for "reconciliation", ``amount`` (and the position's
    ``decision_id``) for "funding", ``alert`` for "alert"; halts and the kill switch carry only a reason."""

    TYPE: ClassVar[str] = "account_event"
    VERSION: ClassVar[int] = 1

    kind: EventKind
    severity: Severity = "info"
    mode: Mode | None = None
    symbol: Symbol | None = None
    reason: str = Field(default="", max_length=500)
    decision_id: str | None = Field(default=None, min_length=1, max_length=64)
    amount: Finite | None = None
    equity: EquityFigures | None = None
    discrepancy: Discrepancy | None = None
    alert: AlertInfo | None = None

    @model_validator(mode="after")
    def _kind_has_its_part(self) -> AccountEvent:
        needs = {
            "equity": self.equity is not None,
            "reconciliation": self.discrepancy is not None,
            "funding": self.amount is not None and self.symbol is not None and self.decision_id is not None,
            "alert": self.alert is not None,
        }
        if not needs.get(self.kind, True):
            raise ValueError(f"a {self.kind!r} event lacks its details (see AccountEvent's docstring)")
        return self
