"""ia2: sizing, every risk rule, the manager's ordering and clipping, halts and adaptive confidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from services.ia2.adaptive import AdaptiveConfidence
from services.ia2.correlation import correlation, correlations
from services.ia2.risk import Context, Proposal, RiskConfig, RiskManager
from services.ia2.sizing import size_position
from services.ia2.state import RedisOutcomes, RedisTradingState
from services.ia2.strategist import Strategist
from shared.contracts import Analysis
from shared.keys import PAPER_BOOK, book_keys
from shared.trading_state import AccountState, Position, Snapshot, clear_flag, record_outcome

PAPER = book_keys(PAPER_BOOK)

CONFIG = RiskConfig()


def snapshot(equity: float = 10_000, positions: dict[str, Position] | None = None, **account: float | str) -> Snapshot:
    values: dict[str, float | str] = {"cash": equity, "peak_equity": equity, "day_start_equity": equity, **account}
    return Snapshot(account=AccountState(**values), positions=positions or {})


def position(symbol: str, qty: float = 1.0, price: float = 100.0) -> Position:
    return Position(
        symbol=symbol,
        side="long",
        quantity=qty,
        entry_price=price,
        last_price=price,
        opened_at=0,
        decision_id="d",
        client_order_id="c",
    )


def proposal(qty: float = 1.0, symbol: str = "BTC/USDT:USDT", **extra: object) -> Proposal:
    values: dict[str, object] = {
        "symbol": symbol, "side": "long", "quantity": qty, "entry": 100.0, "stop_loss": 95.0,
        "take_profit": 110.0, "confidence": 0.8, "required_confidence": 0.55,
    }  # fmt: skip
    values.update(extra)
    return Proposal(**values)  # type: ignore[arg-type]


def test_sizing_risks_the_configured_share() -> None:
    sized = size_position("long", equity=10_000, entry=100, atr=2.5, config=CONFIG)
    assert sized is not None
    assert sized.stop_loss == 95.0 and sized.take_profit == 110.0
    assert sized.quantity == pytest.approx(100 / 5)  # 1 % of 10,000 over a 5.0 stop distance
    short = size_position("short", equity=10_000, entry=100, atr=2.5, config=CONFIG)
    assert short is not None and short.stop_loss == 105.0 and short.take_profit == 90.0
    assert size_position("long", equity=10_000, entry=100, atr=0, config=CONFIG) is None
    assert size_position("long", equity=10_000, entry=1, atr=5, config=CONFIG) is None  # stop below zero


@pytest.mark.parametrize(
    ("context", "prop", "expected"),
    [
        (Context(snapshot()), proposal(confidence=0.5), "confidence 0.50 below the 0.55 required"),
        (Context(snapshot(positions={"BTC/USDT:USDT": position("BTC/USDT:USDT")})), proposal(), "already open"),
        (
            Context(snapshot(positions={f"S{i}/USDT:USDT": position(f"S{i}/USDT:USDT") for i in range(5)})),
            proposal(),
            "5 positions open",
        ),
        (
            Context(snapshot(positions={"ETH/USDT:USDT": position("ETH/USDT:USDT")}), {"ETH/USDT:USDT": 0.93}),
            proposal(),
            "correlation 0.93 with open ETH",
        ),
        (Context(snapshot(cash=9_000, day_start_equity=10_000)), proposal(), "daily loss 10.0%"),
        (Context(snapshot(cash=8_000, peak_equity=10_000, day_start_equity=8_000)), proposal(), "drawdown 20.0%"),
        (Context(snapshot()), proposal(qty=0.01), "under the 5.00 minimum"),
    ],
)
def test_rules_reject_with_a_reason(context: Context, prop: Proposal, expected: str) -> None:
    verdict = RiskManager(CONFIG).evaluate(prop, context)
    assert verdict.approved is None
    assert expected in verdict.reasons[-1]


def test_halted_and_killed_states_never_open() -> None:
    for state in (
        snapshot().model_copy(update={"halt_reason": "drawdown"}),
        snapshot().model_copy(update={"kill_reason": "op"}),
    ):
        assert RiskManager(CONFIG).evaluate(proposal(), Context(state)).approved is None


def test_oversized_proposal_is_clipped_to_the_limits_never_enlarged() -> None:
    huge = proposal(qty=1_000.0, author="llm")  # 100,000 USDT on 10,000 equity
    verdict = RiskManager(CONFIG).evaluate(huge, Context(snapshot()))
    assert verdict.approved is not None
    assert verdict.approved.quantity == pytest.approx(25.0)  # 25 % of equity at 100
    assert any("clipped from 1000 to 25 by max exposure per symbol 25%" in r for r in verdict.reasons)
    small = RiskManager(CONFIG).evaluate(proposal(qty=2.0), Context(snapshot()))
    assert small.approved is not None and small.approved.quantity == 2.0


def test_total_exposure_clips_what_is_left() -> None:
    book = {f"S{i}/USDT:USDT": position(f"S{i}/USDT:USDT", qty=24.0) for i in range(4)}  # 9,600 exposed
    verdict = RiskManager(CONFIG).evaluate(proposal(qty=20.0), Context(snapshot(positions=book)))
    assert verdict.approved is not None
    assert verdict.approved.quantity == pytest.approx(4.0)


@settings(max_examples=200, deadline=None)
@given(
    equity=st.floats(100, 1e6),
    qty=st.floats(0.001, 1e5),
    entry=st.floats(0.01, 1e5),
    exposures=st.lists(st.floats(0, 1e5), max_size=6),
)
def test_decided_quantity_never_exceeds_any_limit(
    equity: float, qty: float, entry: float, exposures: list[float]
) -> None:
    positions = {
        f"P{i}/USDT:USDT": position(f"P{i}/USDT:USDT", qty=max(e, 1e-6) / 100, price=100.0)
        for i, e in enumerate(exposures)
    }
    state = snapshot(equity=equity, positions=positions)
    prop = proposal(qty=qty, entry=entry, stop_loss=entry * 0.9, take_profit=entry * 1.2)
    verdict = RiskManager(CONFIG).evaluate(prop, Context(state))
    if verdict.approved is None:
        return
    q = verdict.approved.quantity
    assert q <= qty
    assert q * entry <= CONFIG.max_symbol_exposure * state.equity * (1 + 1e-9)
    assert state.exposure + q * entry <= CONFIG.max_total_exposure * state.equity * (1 + 1e-9) + 1e-6
    assert len(positions) < CONFIG.max_open_positions


def test_correlation() -> None:
    rng = np.random.default_rng(0)
    a = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 101)))
    b = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, 101)))
    assert correlation(list(a), list(a * 2)) == pytest.approx(1.0)
    value = correlation(list(a), list(b))
    assert value is not None and abs(value) < 0.3
    assert correlation(list(a[:10]), list(b[:10])) is None


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lengths=st.lists(st.integers(5, 130), min_size=1, max_size=8),
    mine_length=st.integers(5, 130),
)
def test_correlations_at_once_equal_the_pairwise_figures(seed: int, lengths: list[int], mine_length: int) -> None:
    rng = np.random.default_rng(seed)

    def series(n: int) -> list[float]:
        return list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))))

    mine = series(mine_length)
    others = {f"S{i}": series(n) for i, n in enumerate(lengths)}
    others["FLAT"] = [5.0] * 120  # no variance: no figure, as pair-wise
    others["BAD"] = [*series(110)[:-1], float("nan")]
    expected = {s: v for s, c in others.items() if (v := correlation(mine, c)) is not None}
    found = correlations(mine, others)
    assert found.keys() == expected.keys()
    for symbol, value in expected.items():
        assert found[symbol] == pytest.approx(value, abs=1e-9)


def analysis(signal: str = "long", confidence: float = 0.8, atr: float = 2.5, setup: str = "trend_long") -> Analysis:
    return Analysis(
        opportunity_id="o1", symbol="BTC/USDT:USDT", signal=signal, confidence=confidence,
        price=100.0, atr=atr, rationale="LONG (score +0.50) on 1h. EMA12 above EMA26.", setup=setup,
    )  # fmt: skip


def make_strategist(redis: Redis, closes: dict[str, Sequence[float]] | None = None) -> Strategist:
    async def closes_for(symbol: str) -> Sequence[float] | None:
        return (closes or {}).get(symbol)

    return Strategist(
        RedisTradingState(redis, start_balance=10_000),
        RiskManager(CONFIG),
        AdaptiveConfidence(RedisOutcomes(redis), base=0.55),
        closes_for,
    )


async def test_strategist_decides_with_reasons_and_a_stable_id(redis: Redis) -> None:
    strategist = make_strategist(redis)
    first = await strategist.decide(analysis())
    again = await strategist.decide(analysis().model_copy(update={"message_id": first.analysis_id}))
    assert first.action == "open"
    assert first.quantity == pytest.approx(20.0)
    assert first.stop_loss == 95.0 and first.take_profit == 110.0
    assert any("long signal from ia1" in r for r in first.reasons)
    assert first.message_id == again.message_id
    neutral = await strategist.decide(analysis(signal="neutral", confidence=0.0))
    assert neutral.action == "reject" and "neutral signal" in neutral.reasons[0]


async def test_drawdown_latches_a_halt_until_an_operator_resets(redis: Redis) -> None:

    await redis.hset(
        PAPER.account,
        mapping={"cash": 8_000, "peak_equity": 10_000, "day_start_equity": 8_000, "start_balance": 10_000},
    )
    strategist = make_strategist(redis)
    first = await strategist.decide(analysis())
    assert first.action == "reject" and "drawdown 20.0%" in first.reasons[-1]
    assert await redis.exists(PAPER.halt)
    await redis.hset(PAPER.account, mapping={"cash": 10_000, "peak_equity": 10_000})  # recovered...
    still = await strategist.decide(analysis().model_copy(update={"message_id": "another"}))
    assert still.action == "reject" and "halted until an operator resets" in still.reasons[-1]  # ...but latched
    await clear_flag(redis, PAPER.halt)
    assert (await strategist.decide(analysis().model_copy(update={"message_id": "third"}))).action == "open"


async def test_correlated_symbol_is_rejected(redis: Redis) -> None:

    await redis.hset(PAPER.positions, "ETH/USDT:USDT", position("ETH/USDT:USDT").model_dump_json())
    rng = np.random.default_rng(1)
    base = list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 101))))
    strategist = make_strategist(redis, {"BTC/USDT:USDT": base, "ETH/USDT:USDT": [x * 3 for x in base]})
    decision = await strategist.decide(analysis())
    assert decision.action == "reject" and "correlation 1.00 with open ETH/USDT:USDT" in decision.reasons[-1]


async def test_adaptive_confidence_follows_outcomes(redis: Redis) -> None:
    adaptive = AdaptiveConfidence(RedisOutcomes(redis), base=0.55)
    assert await adaptive.required("trend_long") == 0.55
    for _ in range(10):
        await record_outcome(redis, "trend_long", won=False)
    raised = await adaptive.required("trend_long")
    for _ in range(30):
        await record_outcome(redis, "breakout_short", won=True)
    lowered = await adaptive.required("breakout_short")
    assert raised > 0.55 > lowered
    assert lowered >= 0.4 and raised <= 0.9
    strategist = make_strategist(redis)
    decision = await strategist.decide(analysis(confidence=0.6))
    assert decision.action == "reject" and decision.required_confidence == raised


def test_llm_proposal_goes_through_the_same_limits() -> None:
    llm = replace(proposal(qty=500.0), author="llm")
    verdict = RiskManager(CONFIG).evaluate(llm, Context(snapshot()))
    assert verdict.approved is not None and verdict.approved.quantity == pytest.approx(25.0)
