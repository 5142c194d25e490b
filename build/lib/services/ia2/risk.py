"""The risk manager: one component every trade passes through last, whoever proposed it.

Rules are small classes with a name and one job (freqtrade's protections, NautilusTrader's risk
engine). Each looks at the proposal and the portfolio and passes it, clips its size down, or rejects
it, always saying why. A proposal can only come out smaller: no rule ever enlarges a trade, so an
LLM's over-sized idea is cut to what the limits allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from shared.contracts import Side
from shared.trading_state import Snapshot


@dataclass(frozen=True)
class RiskConfig:
    risk_per_trade: float = 0.01  # of equity lost if the stop is hit
    atr_stop_multiple: float = 2.0
    reward_risk: float = 2.0
    min_confidence: float = 0.55
    max_open_positions: int = 5
    max_symbol_exposure: float = 0.25  # notional per symbol, as a share of equity
    max_total_exposure: float = 1.0
    max_correlation: float = 0.8
    max_daily_loss: float = 0.05
    max_drawdown: float = 0.15
    min_notional: float = 5.0


@dataclass(frozen=True)
class Proposal:
    symbol: str
    side: Side
    quantity: float
    entry: float
    stop_loss: float
    take_profit: float
    confidence: float
    required_confidence: float
    author: Literal["rules", "llm"] = "rules"
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    snapshot: Snapshot
    correlations: dict[str, float] = field(default_factory=dict)  # open symbol -> correlation with the proposal


@dataclass(frozen=True)
class RuleResult:
    verdict: Literal["pass", "clip", "reject"]
    reason: str = ""
    quantity: float | None = None
    halt: str | None = None  # a reason to latch the trading halt


PASS = RuleResult("pass")


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult: ...


@dataclass(frozen=True)
class KillSwitchRule:
    name: str = "kill_switch"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        reason = context.snapshot.kill_reason
        return RuleResult("reject", f"rejected: kill switch on ({reason})") if reason else PASS


@dataclass(frozen=True)
class HaltRule:
    name: str = "halt"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        reason = context.snapshot.halt_reason
        return (
            RuleResult("reject", f"rejected: new entries halted until an operator resets ({reason})")
            if reason
            else PASS
        )


@dataclass(frozen=True)
class DailyLossRule:
    name: str = "daily_loss"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        loss = context.snapshot.daily_loss
        if loss < config.max_daily_loss:
            return PASS
        why = f"daily loss {loss:.1%} reached the limit {config.max_daily_loss:.1%}"
        return RuleResult("reject", f"rejected: {why}; trading halted", halt=why)


@dataclass(frozen=True)
class DrawdownRule:
    name: str = "drawdown"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        drawdown = context.snapshot.drawdown
        if drawdown < config.max_drawdown:
            return PASS
        why = f"drawdown {drawdown:.1%} from the equity peak reached the limit {config.max_drawdown:.1%}"
        return RuleResult("reject", f"rejected: {why}; trading halted", halt=why)


@dataclass(frozen=True)
class MinConfidenceRule:
    name: str = "min_confidence"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        if proposal.confidence >= proposal.required_confidence:
            return PASS
        return RuleResult(
            "reject",
            f"rejected: confidence {proposal.confidence:.2f} below the {proposal.required_confidence:.2f} required",
        )


@dataclass(frozen=True)
class OnePositionPerSymbolRule:
    name: str = "one_position_per_symbol"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        if proposal.symbol in context.snapshot.positions:
            return RuleResult("reject", f"rejected: a position on {proposal.symbol} is already open")
        return PASS


@dataclass(frozen=True)
class MaxOpenPositionsRule:
    name: str = "max_open_positions"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        count = len(context.snapshot.positions)
        if count < config.max_open_positions:
            return PASS
        return RuleResult("reject", f"rejected: {count} positions open, the maximum is {config.max_open_positions}")


@dataclass(frozen=True)
class CorrelationRule:
    name: str = "correlation"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        if not context.correlations:
            return PASS
        symbol, corr = max(context.correlations.items(), key=lambda item: abs(item[1]))
        if abs(corr) <= config.max_correlation:
            return PASS
        return RuleResult(
            "reject", f"rejected: correlation {corr:.2f} with open {symbol} above {config.max_correlation:.2f}"
        )


@dataclass(frozen=True)
class SymbolExposureRule:
    name: str = "symbol_exposure"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        allowed = config.max_symbol_exposure * context.snapshot.equity / proposal.entry
        if proposal.quantity <= allowed:
            return PASS
        limit = f"max exposure per symbol {config.max_symbol_exposure:.0%}"
        return RuleResult(
            "clip", f"size clipped from {proposal.quantity:.6g} to {allowed:.6g} by {limit}", max(0.0, allowed)
        )


@dataclass(frozen=True)
class TotalExposureRule:
    name: str = "total_exposure"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        room = config.max_total_exposure * context.snapshot.equity - context.snapshot.exposure
        allowed = max(0.0, room / proposal.entry)
        if proposal.quantity <= allowed:
            return PASS
        limit = f"max total exposure {config.max_total_exposure:.0%}"
        return RuleResult("clip", f"size clipped from {proposal.quantity:.6g} to {allowed:.6g} by {limit}", allowed)


@dataclass(frozen=True)
class MinNotionalRule:
    name: str = "min_notional"

    def check(self, proposal: Proposal, context: Context, config: RiskConfig) -> RuleResult:
        notional = proposal.quantity * proposal.entry
        if notional >= config.min_notional:
            return PASS
        return RuleResult(
            "reject",
            f"rejected: {notional:.2f} USDT left after the limits, under the {config.min_notional:.2f} minimum",
        )


DEFAULT_RULES: tuple[Rule, ...] = (
    KillSwitchRule(),
    HaltRule(),
    DailyLossRule(),
    DrawdownRule(),
    MinConfidenceRule(),
    OnePositionPerSymbolRule(),
    MaxOpenPositionsRule(),
    CorrelationRule(),
    SymbolExposureRule(),
    TotalExposureRule(),
    MinNotionalRule(),
)


@dataclass(frozen=True)
class Verdict:
    approved: Proposal | None
    reasons: tuple[str, ...]
    halt: str | None = None


class RiskManager:
    def __init__(self, config: RiskConfig, rules: tuple[Rule, ...] = DEFAULT_RULES) -> None:
        self.config = config
        self.rules = rules

    def evaluate(self, proposal: Proposal, context: Context) -> Verdict:
        """Apply every rule in order; stop at the first rejection. Quantities only ever shrink."""
        reasons = list(proposal.reasons)
        current = proposal
        for rule in self.rules:
            result = rule.check(current, context, self.config)
            if result.verdict == "reject":
                return Verdict(None, (*reasons, result.reason), result.halt)
            if result.verdict == "clip" and result.quantity is not None:
                current = replace(current, quantity=min(current.quantity, result.quantity))
                reasons.append(result.reason)
        return Verdict(current, tuple(reasons))
