"""The backtest's paper account, in memory: the paper venue's fill model on a simulated clock.

Entries and market closes fill as the paper venue fills them (``services/execution/paper.fill_price``:
slippage against us, the taker fee); the resting stop, target and liquidation are the paper venue's
(``paper.walk``, ``paper.liquidation_price``); margins and funding are ``shared/perps.py``'s, the one
model the simulator and paper trading use. The account keeps execution's bookkeeping (wallet
``cash`` moved by realised PnL, fees and funding; equity peak; the day's starting equity; the latched
halt) and hands ia2 and execution's checks the same :class:`~shared.trading_state.Snapshot` live reads
from Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.execution.checks import Plan
from services.execution.paper import fill_price, liquidation_price
from shared import perps
from shared.trading_state import AccountState, MarginMode, Position, Snapshot


@dataclass
class Holding:
    symbol: str
    side: perps.Side
    quantity: float
    entry_price: float
    stop_loss: float
    take_profit: float
    opened_ms: int
    entry_fee: float
    margin: float
    leverage: float
    signal_kind: str
    decision_id: str
    last_price: float
    funding: float = 0.0
    funded_until_ms: int = 0
    liquidation: float | None = None

    def unrealised(self, price: float | None = None) -> float:
        return perps.realised_pnl(self.side, self.quantity, self.entry_price, price or self.last_price)


@dataclass(frozen=True)
class ClosedTrade:
    symbol: str
    side: str
    entry_time: int
    exit_time: int
    entry_price: float
    exit_price: float
    quantity: float
    pnl: float  # price PnL, fees and funding apart
    fees: float  # opening and closing fees (a liquidation's clearance fee included)
    funding: float  # received (+) or paid (-)
    exit_reason: str
    signal_kind: str

    @property
    def net(self) -> float:
        return self.pnl - self.fees + self.funding


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


@dataclass
class Book:
    start_balance: float
    taker_fee: float
    slippage_bps: float
    leverage: float
    margin_mode: MarginMode
    cash: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    peak_equity: float = 0.0
    day: str = ""
    day_start_equity: float = 0.0
    halt_reason: str | None = None
    halted_at_ms: int = 0
    halts: list[tuple[int, str]] = field(default_factory=list)  # (when, why) of every halt latched
    positions: dict[str, Holding] = field(default_factory=dict)
    trades: list[ClosedTrade] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cash = self.peak_equity = self.day_start_equity = self.start_balance

    # -- reads ---------------------------------------------------------------------------------

    def equity(self) -> float:
        return self.cash + sum(h.unrealised() for h in self.positions.values())

    def exposure(self) -> float:
        return sum(h.quantity * h.last_price for h in self.positions.values())

    def snapshot(self) -> Snapshot:
        """What ia2 and execution's checks read live from Redis, from this book."""
        account = AccountState(
            start_balance=self.start_balance,
            cash=self.cash,
            fees=self.fees,
            funding=self.funding,
            peak_equity=self.peak_equity,
            day=self.day,
            day_start_equity=self.day_start_equity,
        )
        positions = {s: self.position(h) for s, h in self.positions.items()}
        return Snapshot(account=account, positions=positions, halt_reason=self.halt_reason)

    def position(self, h: Holding) -> Position:
        """The holding as execution's ledger keeps a position."""
        return Position(
            symbol=h.symbol,
            side=h.side,
            quantity=h.quantity,
            entry_price=h.entry_price,
            stop_loss=h.stop_loss,
            take_profit=h.take_profit,
            last_price=h.last_price,
            opened_at=h.opened_ms / 1000,
            decision_id=h.decision_id,
            client_order_id=h.decision_id,
            signal_kind=h.signal_kind,
            fees=h.entry_fee,
            funding=h.funding,
            funded_until_ms=h.funded_until_ms,
            leverage=h.leverage,
            margin_mode=self.margin_mode,
            margin=h.margin,
            liquidation_price=h.liquidation,
        )

    # -- changes -------------------------------------------------------------------------------

    def mark(self, now_ms: int) -> float:
        """Equity now; the peak and the day's starting equity follow it (execution's mark-to-market)."""
        equity = self.equity()
        self.peak_equity = max(self.peak_equity, equity)
        if self.day != (today := _day(now_ms)):
            self.day, self.day_start_equity = today, equity
        return equity

    def open(self, symbol: str, plan: Plan, now_ms: int, *, signal_kind: str, decision_id: str) -> None:
        """Fill execution's order plan at its price (the next candle's open), with slippage and the taker fee."""
        filled = fill_price(plan.price, buying=plan.side == "long", slippage_bps=self.slippage_bps)
        fee = perps.fee(plan.quantity, filled, self.taker_fee)
        self.cash -= fee
        self.fees += fee
        holding = Holding(
            symbol, plan.side, plan.quantity, filled, plan.stop_loss, plan.take_profit, now_ms, fee,
            perps.initial_margin(plan.quantity, filled, self.leverage), self.leverage, signal_kind, decision_id,
            filled, funded_until_ms=now_ms,
        )  # fmt: skip
        self.positions[symbol] = holding
        self.reprice_liquidation(holding)

    def reprice_liquidation(self, holding: Holding) -> None:
        """Isolated margin: the paper venue's liquidation price. Cross margin is not liquidated, as on paper
        (it would need the whole account's path)."""
        if self.margin_mode == "isolated":
            holding.liquidation = liquidation_price(holding.side, holding.quantity, holding.entry_price, holding.margin)

    def close(self, symbol: str, price: float, now_ms: int, reason: str) -> ClosedTrade:
        """A market close (end of the data, a halt that flattens): slippage against us and the taker fee."""
        holding = self.positions[symbol]
        filled = fill_price(price, buying=holding.side == "short", slippage_bps=self.slippage_bps)
        return self.book_close(symbol, filled, perps.fee(holding.quantity, filled, self.taker_fee), now_ms, reason)

    def book_close(self, symbol: str, filled: float, fee: float, now_ms: int, reason: str) -> ClosedTrade:
        """A close at ``filled`` paying ``fee`` (a resting stop or target fills at its level; a liquidation's
        fee is the clearance: what was left of the margin)."""
        holding = self.positions.pop(symbol)
        pnl = holding.unrealised(filled)
        self.cash += pnl - fee
        self.fees += fee
        trade = ClosedTrade(
            symbol, holding.side, holding.opened_ms, now_ms, holding.entry_price, filled, holding.quantity,
            pnl, holding.entry_fee + fee, holding.funding, reason, holding.signal_kind,
        )  # fmt: skip
        self.trades.append(trade)
        return trade

    def latch(self, now_ms: int, reason: str) -> None:
        if self.halt_reason is None:
            self.halt_reason, self.halted_at_ms = reason, now_ms
            self.halts.append((now_ms, reason))

    def fund(self, holding: Holding, at_ms: int, mark: float, rate: float) -> None:
        amount = perps.funding_payment(holding.side, holding.quantity, mark, rate)
        holding.funding += amount
        holding.funded_until_ms = at_ms
        self.cash += amount
        self.funding += amount
